package transport

import (
	"errors"
	"sync"
	"syscall"
	"time"
)

// Idle accepted connections give back their goroutine. A bound socket on
// an open network may hold thousands of peers that say nothing for
// minutes; each would otherwise keep a goroutine, and its stack, parked in
// the runtime's poller. A connection whose reader has waited idleAfter at
// a message boundary, with nothing buffered, is handed to one epoll
// instance shared by the process (idlePoller), and its goroutine ends; the
// first byte, or a local close, starts a new one where the old one left
// off. The wait is found with a read deadline, set at most once per
// idleAfter while the connection is busy.
const canPark = true

// idleAfter is how long a reader waits at a message boundary before its
// connection parks. Waking a parked connection costs a goroutine and two
// epoll_ctl calls, about 10 µs, which a machine whose CPUs have idled as
// long pays over anyway: a REQ/REP round trip after 30 ms of silence took
// 100-160 µs on the project's machine whether the connections parked or
// not. Shorter, the goroutines of a burst of new peers are let go sooner
// (resident memory per idle peer: 5.8 KB at 20 ms, 6.4 KB at 50 ms,
// 7.6 KB at 100 ms, 9.0 KB without parking).
var idleAfter = 20 * time.Millisecond

// idlePoller is the epoll instance of the parked connections, with the
// goroutine that waits on it while any is parked.
type idlePoller struct {
	mu      sync.Mutex
	epfd    int
	running bool
	conns   map[int32]parkedConn // by descriptor
	gen     uint32
}

type parkedConn struct {
	c   *Conn
	gen uint32 // tells a stale event for a reused descriptor from a live one
}

var idle idlePoller

// add watches fd for c, which resumes at the first event.
func (p *idlePoller) add(fd int, c *Conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		p.epfd, p.running, p.conns = epfd, true, map[int32]parkedConn{}
		go p.loop(epfd)
	}
	p.gen++
	p.conns[int32(fd)] = parkedConn{c, p.gen}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd), Pad: int32(p.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(p.conns, int32(fd))
		return err
	}
	return nil
}

// remove stops watching fd for c.
func (p *idlePoller) remove(fd int, c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.conns[int32(fd)]; ok && pc.c == c {
		delete(p.conns, int32(fd))
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

// loop resumes the connections whose descriptors are ready, and ends,
// closing the instance, once none is parked (it looks every 100 ms).
func (p *idlePoller) loop(epfd int) {
	evs := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(epfd, evs, 100)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			n = 0 // cannot happen with a valid instance; the connections resume on close
		}
		var wake []*Conn
		p.mu.Lock()
		for _, ev := range evs[:max(n, 0)] {
			if pc, ok := p.conns[ev.Fd]; ok && pc.gen == uint32(ev.Pad) {
				delete(p.conns, ev.Fd)
				syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, int(ev.Fd), nil)
				wake = append(wake, pc.c)
			}
		}
		done := len(p.conns) == 0
		if done {
			p.running = false
			syscall.Close(epfd)
		}
		p.mu.Unlock()
		for _, c := range wake {
			c.wake(false)
		}
		if done {
			return
		}
	}
}
