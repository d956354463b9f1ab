//go:build linux

package transport

import (
	"net"
	"os"
	"syscall"
)

// rawAccepter accepts from a TCP listener with accept4, so that the
// accepted descriptor stays a plain integer until the gate admits it. It
// works on a duplicate of the listener's descriptor held as an *os.File,
// whose RawConn, unlike a listener's, can wait in the runtime's poller
// for a connection to be pending (the duplicate shares the socket and
// its non-blocking mode). It is made when the accept loop first comes
// under pressure, and closed with the listener.
type rawAccepter struct {
	f   *os.File
	rc  syscall.RawConn
	try func(fd uintptr) bool // rawAccept, bound once

	fd  int
	sa  syscall.Sockaddr
	err error
}

func newRawAccepter(ln net.Listener) (*rawAccepter, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, nil
	}
	f, err := tl.File()
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	a := &rawAccepter{f: f, rc: rc}
	a.try = a.rawAccept
	return a, nil
}

// accept waits for a connection and returns its descriptor and the
// peer's address.
func (a *rawAccepter) accept() (int, net.Addr, error) {
	a.fd, a.sa, a.err = -1, nil, nil
	if err := a.rc.Read(a.try); err != nil {
		return -1, nil, err
	}
	if a.err != nil {
		return -1, nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", a.err)}
	}
	return a.fd, sockaddrAddr(a.sa), nil
}

func (a *rawAccepter) rawAccept(fd uintptr) bool {
	for {
		// Blocking: the descriptor is only closed or handed to
		// net.FileConn, whose duplicate is made non-blocking; os.NewFile on
		// a non-blocking one would register it with the poller for nothing.
		nfd, sa, err := syscall.Accept4(int(fd), syscall.SOCK_CLOEXEC)
		switch err {
		case syscall.EINTR, syscall.ECONNABORTED:
			continue // as the net package does: the peer left before we took it
		case syscall.EAGAIN:
			return false // wait in the poller
		}
		a.fd, a.sa, a.err = nfd, sa, err
		return true
	}
}

// close closes the duplicate descriptor, ending a wait in accept.
func (a *rawAccepter) close() { a.f.Close() }

func sockaddrAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// refuseFD closes a refused descriptor with a reset, as refuse does.
func refuseFD(fd int) {
	syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	syscall.Close(fd)
}

func closeFD(fd int) { syscall.Close(fd) }

// fdConn makes an admitted descriptor a net.Conn. net.FileConn dups it;
// the original is closed.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	return net.FileConn(f)
}
