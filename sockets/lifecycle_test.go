package sockets

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zmtpgo/zmtp/internal/memnet"
	"pgregory.net/rapid"
)

// Model-based tests of a connection's whole life (issue 6): a SUB with
// heartbeats, a handshake timeout and reconnects (with backoff), connected
// to a PUB (with or without heartbeats) over an in-memory network
// (internal/memnet), through random publishing and bursts, silences and
// stalls, resets, clock advances, Disconnect and Connect, Unbind and Bind,
// and publisher restarts, checked after every step against lcModel
// (lifecycle_model_test.go): every monitor event of both sockets, with its
// reason and virtual time, every message received, and the connections
// left open. They run on synctest's virtual clock, so an hour of
// heartbeats takes no real time and timings are exact; liveness_test.go
// and disconnect_test.go are the real-TCP versions of some scenarios.

const (
	lcAddr     = "pub:5555"
	lcEndpoint = "tcp://" + lcAddr
)

func TestLifecycle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { rapid.SyncTest(t, lifecycle) })
}

// FuzzLifecycle is TestLifecycle driven by the fuzzer's bytes (rapid reads
// them as its random stream, eight at a time):
//
//	go test ./sockets/ -run '^$' -fuzz '^FuzzLifecycle$' -fuzztime 60s -fuzzminimizetime 100x
//
// (by default each new input is minimized for up to a minute, every
// candidate a whole run, and the campaign stalls meanwhile).
//
// testdata/fuzz/FuzzLifecycle holds the runs that found the first two
// faults of lifecycle_regress_test.go; the seeds below are whole random
// runs.
func FuzzLifecycle(f *testing.F) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 6))
		b := make([]byte, 8<<10)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(rapid.MakeFuzz(func(t *rapid.T) { rapid.SyncTest(t, lifecycle) }))
}

// lcWorld is one run: the network, the sockets, the model.
type lcWorld struct {
	net     *memnet.Network
	p       lcParams
	pub     *Socket
	sub     *Socket
	pubRec  lcRecorder // every PUB incarnation's events
	subRec  lcRecorder
	got     *lcCollector
	m       *lcModel
	ctx     context.Context
	subDown bool // Disconnect was called and Connect not since
}

func lifecycle(t *rapid.T) {
	p := lcDrawParams(t)
	buf := 0
	if p.small {
		buf = 2048
	}
	w := &lcWorld{net: memnet.New(buf), p: p, m: newLcModel(p), ctx: context.Background()}
	w.startPub(t)
	sub, err := New(SUB, WithDialer(w.net.Dial), WithHeartbeat(p.ivl, p.ttl, p.timeout), WithHandshakeTimeout(p.subHS),
		WithReconnectIvl(p.reconnect), WithReconnectIvlMax(p.reconnectMax), WithMonitor(w.subRec.add))
	if err != nil {
		t.Fatal(err)
	}
	w.sub = sub
	// On a failure, close everything so that the bubble ends and rapid
	// reports the failure rather than synctest its blocked goroutines.
	t.Cleanup(func() {
		w.sub.Close()
		w.pub.Close()
	})
	sub.Subscribe(nil)
	w.got = lcCollect(sub)
	if err := sub.Connect(lcEndpoint); err != nil {
		t.Fatal(err)
	}
	w.m.connect(time.Now())
	synctest.Wait()

	// Every action applies in every state (the toggles choose by state):
	// with actions that skip, a fuzzer soon finds input that picks skipped
	// ones until rapid gives up.
	t.Repeat(map[string]func(*rapid.T){
		"publish":               w.publish,
		"burst":                 w.burst,
		"silence or resume":     w.silence,
		"reset":                 w.reset,
		"advance":               w.advance,
		"advance to a deadline": w.advanceToDeadline,
		"disconnect or connect": w.disconnect,
		"unbind, bind, restart": w.publisher,
		"":                      w.check,
	})
	w.closeAll(t)
}

// startPub makes a PUB and binds it at the address.
func (w *lcWorld) startPub(t *rapid.T) {
	// A send queue no burst fills: high-water-mark drops are not modelled.
	opts := []Option{WithMonitor(w.pubRec.add), WithSendHWM(10000), WithHeartbeat(w.p.pubIvl, 0, w.p.pubTimeout),
		WithHandshakeTimeout(w.p.pubHS)}
	if w.p.small {
		// Close would linger while the writer waits on a full buffer.
		opts = append(opts, WithLinger(0))
	}
	pub, err := New(PUB, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.pub = pub
	w.bindPub(t)
}

func (w *lcWorld) bindPub(t *rapid.T) {
	ln, err := w.net.Listen(lcAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.pub.BindListener(ln, lcEndpoint); err != nil {
		t.Fatal(err)
	}
	w.m.bind()
}

// check is the invariant: every event so far as the model says, the
// messages received exactly those it says, and the network holding exactly
// the connections still open at one end at least.
func (w *lcWorld) check(t *rapid.T) {
	now := time.Now()
	w.m.syncSub(t, w.subRec.take(), now)
	w.m.syncPub(t, w.pubRec.take(), now)
	got, bad := w.got.snapshot()
	if bad != nil {
		t.Fatalf("SUB received %v", bad)
	}
	if cut := w.m.cut; cut != nil && len(got) >= len(w.m.delivered) {
		// Any prefix of the cut may have arrived: take what did.
		k := 0
		for k < len(cut) && len(w.m.delivered)+k < len(got) && got[len(w.m.delivered)+k] == cut[k] {
			k++
		}
		w.m.delivered = append(w.m.delivered, cut[:k]...)
		w.m.cut = nil
	}
	if diff := cmp.Diff(w.m.delivered, got); diff != "" {
		t.Fatalf("messages received (-want +got):\n%s", diff)
	}
	if n, want := w.net.Conns(lcAddr), w.m.liveLinks(); n != want {
		t.Fatalf("%d connections open on the network, want %d", n, want)
	}
}

// publish sends a few numbered messages; burst many, with a body each,
// enough to fill a small network buffer.
func (w *lcWorld) publish(t *rapid.T) { w.send(t, rapid.IntRange(1, 3).Draw(t, "messages"), 0) }
func (w *lcWorld) burst(t *rapid.T)   { w.send(t, rapid.IntRange(10, 200).Draw(t, "messages"), 100) }

func (w *lcWorld) send(t *rapid.T, n, size int) {
	body := bytes.Repeat([]byte{'x'}, size)
	for range n {
		w.m.seq++
		if err := w.pub.Send(w.ctx, NewMsg([]byte(strconv.Itoa(w.m.seq)), body)); err != nil {
			t.Fatalf("PUB send: %v", err)
		}
		w.m.publish(w.m.seq)
	}
	synctest.Wait()
}

// silence makes the address silent (or stalled: dials connect but nothing
// crosses), and half the time resumes it after a while (to a deadline, or
// a random time). On a silent address it resumes.
func (w *lcWorld) silence(t *rapid.T) {
	if w.m.silent {
		w.resume(t)
		return
	}
	stall := rapid.Bool().Draw(t, "dials connect")
	if stall {
		w.net.Stall(lcAddr)
	} else {
		w.net.Silence(lcAddr)
	}
	w.m.silence(time.Now(), stall)
	synctest.Wait()
	if rapid.Bool().Draw(t, "and resume") {
		w.check(t)
		w.advanceSome(t)
		w.check(t)
		w.resume(t)
	}
}

func (w *lcWorld) resume(t *rapid.T) {
	w.net.Resume(lcAddr)
	w.m.resume(time.Now())
	synctest.Wait()
}

func (w *lcWorld) reset(t *rapid.T) {
	w.net.Reset(lcAddr)
	w.m.reset(time.Now())
	synctest.Wait()
}

// advance lets a random while of virtual time pass.
func (w *lcWorld) advance(t *rapid.T) {
	w.sleep(t, time.Duration(rapid.IntRange(1, 3000).Draw(t, "ms"))*time.Millisecond)
}

// advanceToDeadline advances the clock to just before, at or just after an
// instant where the model's prediction changes (a heartbeat verdict, a
// handshake timeout, the ends of a reconnect or TTL window), so bounds are
// checked at their edges; with none ahead, a random while.
func (w *lcWorld) advanceToDeadline(t *rapid.T) {
	if !w.toDeadline(t) {
		w.advance(t)
	}
}

func (w *lcWorld) toDeadline(t *rapid.T) bool {
	now := time.Now()
	ds := w.m.deadlines(now)
	if len(ds) == 0 {
		return false
	}
	at := rapid.SampledFrom(ds).Draw(t, "deadline")
	at = at.Add(time.Duration(rapid.IntRange(-1, 1).Draw(t, "ns off")))
	if !at.After(now) {
		return false
	}
	w.sleep(t, at.Sub(now))
	return true
}

// advanceSome is advance or advanceToDeadline, within a compound action.
func (w *lcWorld) advanceSome(t *rapid.T) {
	if rapid.Bool().Draw(t, "to a deadline") {
		w.advanceToDeadline(t)
	} else {
		w.advance(t)
	}
}

func (w *lcWorld) sleep(t *rapid.T, d time.Duration) {
	t.Logf("now %s, advancing %v", lcClock(time.Now()), d)
	time.Sleep(d)
	synctest.Wait()
}

// disconnect calls Disconnect: the connection closes, and nothing is
// dialled again; half the time, after a while, Connect follows (libzmq
// #1126: the endpoint can be connected again). When disconnected, it
// connects.
func (w *lcWorld) disconnect(t *rapid.T) {
	if w.subDown {
		w.connect(t)
		return
	}
	start := time.Now()
	if err := w.sub.Disconnect(lcEndpoint); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if d := time.Since(start); d != 0 {
		t.Fatalf("Disconnect took %v with nothing queued", d)
	}
	if err := w.sub.Disconnect(lcEndpoint); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("second Disconnect: %v, want ErrNoEndpoint", err)
	}
	w.subDown = true
	w.m.disconnect(start)
	synctest.Wait()
	if rapid.Bool().Draw(t, "and connect again") {
		w.check(t)
		w.advanceSome(t)
		w.check(t)
		w.connect(t)
	}
}

func (w *lcWorld) connect(t *rapid.T) {
	if err := w.sub.Connect(lcEndpoint); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	w.subDown = false
	w.m.connect(time.Now())
	synctest.Wait()
}

// publisher restarts the PUB, or else unbinds it, or binds it again if
// unbound.
func (w *lcWorld) publisher(t *rapid.T) {
	switch {
	case rapid.Bool().Draw(t, "restart"):
		w.restart(t)
	case w.m.bound:
		w.unbind(t)
	default:
		w.bind(t)
	}
}

// unbind calls Unbind: the PUB's connections close and dials are refused;
// half the time, after a while, the PUB binds again.
func (w *lcWorld) unbind(t *rapid.T) {
	if err := w.pub.Unbind(lcEndpoint); err != nil {
		t.Fatalf("Unbind: %v", err)
	}
	w.m.unbind(time.Now())
	synctest.Wait()
	if rapid.Bool().Draw(t, "and bind again") {
		w.check(t)
		w.advanceSome(t)
		w.check(t)
		w.bind(t)
	}
}

func (w *lcWorld) bind(t *rapid.T) {
	w.bindPub(t)
	synctest.Wait()
}

// restart closes the PUB and binds a new one at the same address: the old
// one sends nothing more, and the SUB finds the new one.
func (w *lcWorld) restart(t *rapid.T) {
	start := time.Now()
	old := w.pub
	if err := old.Close(); err != nil {
		t.Fatalf("PUB Close: %v", err)
	}
	if d := time.Since(start); d != 0 {
		t.Fatalf("PUB Close took %v with nothing queued", d)
	}
	if w.m.bound {
		w.m.unbind(start)
	}
	synctest.Wait()
	if err := old.Send(w.ctx, NewMsgString("after close")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
	w.check(t) // the old PUB's last events, before the new one's
	w.startPub(t)
	synctest.Wait()
}

// closeAll closes both sockets: the SUB's connection ends with reason
// Closed, nothing is reported after Close returns, and every goroutine
// ends (synctest fails the run otherwise).
func (w *lcWorld) closeAll(t *rapid.T) {
	now := time.Now()
	if err := w.sub.Close(); err != nil {
		t.Fatal(err)
	}
	if !w.subDown {
		w.m.disconnect(now)
	}
	synctest.Wait() // the PUB sees the SUB leave before it closes
	if err := w.pub.Close(); err != nil {
		t.Fatal(err)
	}
	if w.m.bound {
		w.m.unbind(now)
	}
	if d := time.Since(now); d != 0 {
		t.Fatalf("Close took %v with nothing queued", d)
	}
	synctest.Wait()
	w.check(t)
	<-w.got.done
	if _, err := w.sub.Recv(w.ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	time.Sleep(time.Hour)
	synctest.Wait()
	if evs := append(w.subRec.take(), w.pubRec.take()...); len(evs) > 0 {
		t.Fatalf("events after Close: %v", evs)
	}
}

// lcCollector receives everything the SUB gets, on a goroutine of its own
// that ends when the socket closes.
type lcCollector struct {
	mu   sync.Mutex
	got  []int
	bad  []string
	done chan struct{}
}

func lcCollect(s *Socket) *lcCollector {
	c := &lcCollector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := s.Recv(context.Background())
			if err != nil {
				return
			}
			n, err := lcParseSeq(m)
			c.mu.Lock()
			if err != nil {
				c.bad = append(c.bad, m.String())
			} else {
				c.got = append(c.got, n)
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *lcCollector) snapshot() (got []int, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.got...), c.bad
}
