package transport

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Property names that libzmq reads. libzmq compares them case-sensitively,
// so we send exactly these spellings even though RFC 37 makes names
// case-insensitive.
const (
	PropSocketType = "Socket-Type"
	PropIdentity   = "Identity"
)

// Property is one metadata name–value pair.
type Property struct {
	Name  string
	Value []byte
}

// Metadata is the property list carried by READY (NULL, CURVE) and INITIATE
// (PLAIN, CURVE), in wire order (RFC 37 §The NULL Security Mechanism:
// metadata = *property; property = name value).
type Metadata []Property

// ParseMetadata decodes a metadata block. Each property is a 1-byte name
// length (1–255), the name (letters, digits, '-', '_', '.', '+'), a 4-byte
// big-endian value length and the value. A property cut short, or bytes left
// over after the last one, give ErrMalformedMetadata, as in libzmq
// (mechanism.cpp, parse_metadata).
//
// Values alias b; names are copied (the two libzmq sends are returned as
// constants, without allocating). A value length larger than what remains is
// refused before anything is allocated for it.
//
// Duplicate names are accepted, as libzmq accepts them, and kept in order;
// Get returns the first. (libzmq keeps the first for its property map but
// the last for Identity; it never sends duplicates itself.) RFC 37 caps
// values at 2^31-1 bytes, but any length that fits in b is accepted, since b
// bounds it anyway.
func ParseMetadata(b []byte) (Metadata, error) {
	var m Metadata
	for off := 0; off < len(b); {
		nameLen := int(b[off])
		if nameLen == 0 {
			return nil, fmt.Errorf("%w: property at offset %d has an empty name", ErrMalformedMetadata, off)
		}
		nameEnd := off + 1 + nameLen
		if nameEnd > len(b) {
			return nil, fmt.Errorf("%w: property name at offset %d is %d bytes, only %d remain",
				ErrMalformedMetadata, off, nameLen, len(b)-off-1)
		}
		name := b[off+1 : nameEnd]
		if i := invalidNameByte(name); i >= 0 {
			return nil, fmt.Errorf("%w: property name %q has invalid byte %q", ErrMalformedMetadata, name, name[i])
		}
		if len(b)-nameEnd < 4 {
			return nil, fmt.Errorf("%w: property %q is missing its 4-byte value length", ErrMalformedMetadata, name)
		}
		valueLen := uint64(binary.BigEndian.Uint32(b[nameEnd:]))
		valueStart := nameEnd + 4
		if valueLen > uint64(len(b)-valueStart) {
			return nil, fmt.Errorf("%w: property %q declares a %d-byte value, only %d bytes remain",
				ErrMalformedMetadata, name, valueLen, len(b)-valueStart)
		}
		off = valueStart + int(valueLen)
		m = append(m, Property{Name: propertyName(name), Value: b[valueStart:off:off]})
	}
	return m, nil
}

// propertyName returns the constant for the names libzmq sends, or a copy.
func propertyName(b []byte) string {
	switch string(b) {
	case PropSocketType:
		return PropSocketType
	case PropIdentity:
		return PropIdentity
	}
	return string(b)
}

// ValidPropertyName reports whether name can be sent as a metadata property
// name: 1–255 bytes of letters, digits, '-', '_', '.' or '+' (RFC 37). Use it
// to check application metadata before Append.
func ValidPropertyName(name string) bool {
	if len(name) == 0 || len(name) > maxShortSize {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return false
		}
	}
	return true
}

// invalidNameByte returns the index of the first byte of name that RFC 37
// does not allow, or -1.
func invalidNameByte(name []byte) int {
	for i, c := range name {
		if !isNameChar(c) {
			return i
		}
	}
	return -1
}

// isNameChar: name-char = ALPHA | DIGIT | "-" | "_" | "." | "+" (RFC 37).
func isNameChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '+'
}

// Append appends the wire form of m to dst. Property names must satisfy
// ValidPropertyName and values must be shorter than 2^31 bytes (RFC 37);
// Append panics otherwise, since metadata comes from the program's own
// options, which should be checked when they are set.
func (m Metadata) Append(dst []byte) []byte {
	for _, p := range m {
		if !ValidPropertyName(p.Name) {
			panic(fmt.Sprintf("zmtp: invalid metadata property name %q", p.Name))
		}
		if int64(len(p.Value)) > 1<<31-1 {
			panic(fmt.Sprintf("zmtp: metadata property %q value is %d bytes, limit 2^31-1", p.Name, len(p.Value)))
		}
		dst = append(dst, byte(len(p.Name)))
		dst = append(dst, p.Name...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Value)))
		dst = append(dst, p.Value...)
	}
	return dst
}

// propertySize is the encoded size of a property called name whose value
// is n bytes: a name length byte, the name, a 4-byte value length, the
// value (Append's layout).
func propertySize(name string, n int) int { return 1 + len(name) + 4 + n }

// Get returns the value of the first property called name, compared without
// regard to case as RFC 37 requires ("Metadata names SHALL be
// case-insensitive").
func (m Metadata) Get(name string) ([]byte, bool) {
	for _, p := range m {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}
