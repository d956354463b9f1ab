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
// epoll_ctl calls, small beside what a machine whose CPUs have idled as
// long pays anyway (a one-off probe on the project's machine at 607bd30:
// a REQ/REP round trip after 30 ms of silence took 100-160 µs whether the
// connections parked or not). Shorter, the goroutines of a burst of new
// peers are let go sooner: resident memory per idle peer, `bench/compare.sh
// -T mem` with this value edited, 5.8 KB at 20 ms, 6.4 KB at 50 ms, 7.6 KB
// at 100 ms; 9.0 KB before parking (2aad8a3).
var idleAfter = 20 * time.Millisecond

// idlePoller is the epoll instance of the parked connections, with the
// goroutine that waits on it while any is parked.
type idlePoller struct {
	mu        sync.Mutex
	epfd      int
	running   bool
	conns     map[int32]parkedConn // by descriptor
	gen       uint32
	failUntil time.Time // after a failure to watch a descriptor, none is tried before this
}

// maxIdleWait bounds the per-connection wait, which doubles for a
// connection that keeps being woken soon after it parks (Conn.idleWait).
const maxIdleWait = 2 * time.Second

type parkedConn struct {
	c   *Conn
	gen uint32 // tells a stale event for a reused descriptor from a live one
}

var idle idlePoller

// add watches fd for c, which resumes at the first event.
// Out of descriptors or of epoll watches (EMFILE, ENOSPC), as in a flood,
// connections keep their goroutine for a second before any tries again,
// rather than each spending system calls on it every wait.
func (p *idlePoller) add(fd int, c *Conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Now().Before(p.failUntil) {
		return errParkFailed
	}
	if !p.running {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			p.failUntil = time.Now().Add(time.Second)
			return err
		}
		p.epfd, p.running, p.conns = epfd, true, map[int32]parkedConn{}
		go p.loop(epfd)
	}
	if _, ok := p.conns[int32(fd)]; ok {
		return errParkFailed // cannot happen: a descriptor leaves the map before it closes
	}
	p.gen++
	p.conns[int32(fd)] = parkedConn{c, p.gen}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd), Pad: int32(p.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(p.conns, int32(fd))
		p.failUntil = time.Now().Add(time.Second)
		return err
	}
	return nil
}

var errParkFailed = errors.New("zmtp: cannot park")

// remove stops watching fd for c.
func (p *idlePoller) remove(fd int, c *Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.conns[int32(fd)]; ok && pc.c == c {
		delete(p.conns, int32(fd))
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
}

// loop resumes the connections whose descriptors are ready. It ends,
// closing the instance, once none has been parked for a quarter of a
// second (it looks every 100 ms): a process with one connection parking
// now and then does not make an instance and a goroutine each time, and a
// test checking for leaked goroutines after closing everything does not
// wait long. Should the
// wait fail, every parked connection is resumed: they keep their
// goroutines rather than wait on an instance that does not work.
func (p *idlePoller) loop(epfd int) {
	evs := make([]syscall.EpollEvent, 64)
	var emptySince time.Time
	for {
		n, err := syscall.EpollWait(epfd, evs, 100)
		failed := err != nil && !errors.Is(err, syscall.EINTR)
		var wake []*Conn
		p.mu.Lock()
		for _, ev := range evs[:max(n, 0)] {
			if pc, ok := p.conns[ev.Fd]; ok && pc.gen == uint32(ev.Pad) {
				delete(p.conns, ev.Fd)
				syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, int(ev.Fd), nil)
				wake = append(wake, pc.c)
			}
		}
		if failed {
			for fd, pc := range p.conns {
				delete(p.conns, fd)
				wake = append(wake, pc.c)
			}
			p.failUntil = time.Now().Add(time.Second)
		}
		if len(p.conns) > 0 {
			emptySince = time.Time{}
		} else if emptySince.IsZero() {
			emptySince = time.Now()
		}
		done := failed || !emptySince.IsZero() && time.Since(emptySince) >= 250*time.Millisecond
		if done {
			p.running = false
			syscall.Close(epfd)
		}
		p.mu.Unlock()
		for _, c := range wake {
			c.wake(true)
		}
		if done {
			return
		}
	}
}
