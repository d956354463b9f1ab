package eventlog

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func is(n int) func(int) bool { return func(e int) bool { return e == n } }

func TestAwaitNextDrop(t *testing.T) {
	l := New[int]()
	l.Add(1)
	go func() {
		for i := 2; i <= 5; i++ {
			l.Add(i)
		}
	}()
	if i, e := l.Await(t.Fatalf, 5*time.Second, 0, is(4), "4"); i != 3 || e != 4 {
		t.Fatalf("Await: index %d event %d, want 3 and 4", i, e)
	}
	if _, e := l.Await(t.Fatalf, 5*time.Second, 1, is(2), "2"); e != 2 {
		t.Fatalf("Await from 1: %d", e)
	}
	l.AwaitCount(t.Fatalf, 5*time.Second, 5, func(int) bool { return true }, "events")
	odd := func(e int) bool { return e%2 == 1 }
	if a, b := l.Next(t.Fatalf, time.Second, odd, "odd"), l.Next(t.Fatalf, time.Second, odd, "odd"); a != 1 || b != 3 {
		t.Fatalf("Next, Next: %d, %d; want 1, 3", a, b)
	}
	if got := fmt.Sprint(l.Drop(1)); got != "[1 2]" {
		t.Fatalf("Drop(1) = %s", got)
	}
	if got := fmt.Sprint(l.All()); got != "[3 4 5]" || l.Len() != 3 || l.Count(odd) != 2 {
		t.Fatalf("after Drop: %s, Len %d, Count(odd) %d", got, l.Len(), l.Count(odd))
	}
	if e := l.Next(t.Fatalf, time.Second, odd, "odd"); e != 5 {
		t.Fatalf("Next after Drop: %d, want 5 (3 was taken before)", e)
	}
}

// TestTimeout: past the deadline, fatal gets what was awaited and the
// events so far, and Await does not return.
func TestTimeout(t *testing.T) {
	l := New[int]()
	l.Add(7)
	var msg string
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { recover() }() // fatal below returns; Await must not
		l.Await(func(f string, a ...any) { msg = fmt.Sprintf(f, a...) }, 10*time.Millisecond, 0, is(8), "an eight")
		t.Error("Await returned after its deadline")
	}()
	<-done
	if !strings.Contains(msg, "no an eight within 10ms; have [7]") {
		t.Fatalf("fatal got %q", msg)
	}
}
