package sockets

// prefixSet is a set of subscription prefixes with a count for each, as
// SUB keeps them (two subscribes need two cancels) and as PUB keeps one
// per peer (where the count only ever reaches one: libzmq's PUB treats a
// repeated subscription from the same peer as the same).
type prefixSet struct {
	counts map[string]int
	maxLen int // longest prefix ever added, bounding the work of match
}

// add counts topic once more and reports whether it is new.
func (p *prefixSet) add(topic []byte) bool {
	if p.counts == nil {
		p.counts = map[string]int{}
	}
	p.counts[string(topic)]++
	p.maxLen = max(p.maxLen, len(topic))
	return p.counts[string(topic)] == 1
}

// remove counts topic once less and reports whether that removed it.
func (p *prefixSet) remove(topic []byte) bool {
	n, ok := p.counts[string(topic)]
	if !ok {
		return false
	}
	if n > 1 {
		p.counts[string(topic)] = n - 1
		return false
	}
	delete(p.counts, string(topic))
	return true
}

// match reports whether some prefix in the set starts msg. It costs at
// most one map lookup per byte of the longest prefix, however long msg is.
func (p *prefixSet) match(msg []byte) bool {
	if len(p.counts) == 0 {
		return false
	}
	for i := 0; i <= min(len(msg), p.maxLen); i++ {
		if _, ok := p.counts[string(msg[:i])]; ok {
			return true
		}
	}
	return false
}

// topics returns every prefix once.
func (p *prefixSet) topics() [][]byte {
	out := make([][]byte, 0, len(p.counts))
	for t := range p.counts {
		out = append(out, []byte(t))
	}
	return out
}
