package sockets

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// subModel is what one SUB has subscribed to, counted.
type subModel map[string]int

// wants reports whether a message whose first frame is topic reaches the
// SUB: some prefix of it has a positive count.
func (m subModel) wants(topic string) bool {
	for t, n := range m {
		if n > 0 && strings.HasPrefix(topic, t) {
			return true
		}
	}
	return false
}

// Topics to subscribe to and to publish on: prefixes of one another, the
// empty topic, and one nothing but "" matches. Markers start with 0xFF,
// which none of these does, so they never match a subscription drawn here.
var (
	propSubTopics = []string{"", "a", "b", "aa", "ab", "ba", "aab"}
	propPubTopics = []string{"", "a", "b", "aa", "ab", "abc", "ba", "bb", "aab", "aaba", "c"}
)

// TestPubSubProperty: random sequences of subscribe, unsubscribe and
// publish between a PUB and three SUBs deliver to each SUB exactly the
// messages, in order, that a model of prefix matching with counted
// subscriptions predicts.
//
// It is deterministic: before each batch of publishes, each SUB subscribes
// to a fresh marker topic and the PUB publishes the marker until that SUB
// receives it. A SUB's subscriptions travel in order on its connection, so
// the marker arriving proves every change made before it has reached the
// PUB. After the batch a last message on the marker topic ends what the
// SUB may receive. Nothing is dropped: the batches stay far below the
// high-water marks.
func TestPubSubProperty(t *testing.T) {
	const nsubs = 3
	rapid.Check(t, func(rt *rapid.T) {
		pub, err := New(PUB, WithLinger(0))
		if err != nil {
			rt.Fatal(err)
		}
		defer pub.Close()
		if err := pub.Bind("tcp://127.0.0.1:0"); err != nil {
			rt.Fatal(err)
		}
		subs := make([]*Socket, nsubs)
		models := make([]subModel, nsubs)
		for i := range subs {
			s, err := New(SUB, WithLinger(0))
			if err != nil {
				rt.Fatal(err)
			}
			defer s.Close()
			if err := s.Connect(pub.LastEndpoint()); err != nil {
				rt.Fatal(err)
			}
			subs[i], models[i] = s, subModel{}
		}
		round, seq := 0, 0
		steps := rapid.IntRange(1, 20).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 2).Draw(rt, "action") {
			case 0:
				i := rapid.IntRange(0, nsubs-1).Draw(rt, "sub")
				topic := rapid.SampledFrom(propSubTopics).Draw(rt, "subscribe")
				subs[i].Subscribe([]byte(topic))
				models[i][topic]++
			case 1:
				i := rapid.IntRange(0, nsubs-1).Draw(rt, "sub")
				topic := rapid.SampledFrom(propSubTopics).Draw(rt, "unsubscribe")
				subs[i].Unsubscribe([]byte(topic)) // of nothing held: ignored
				if models[i][topic] > 0 {
					models[i][topic]--
				}
			case 2:
				round++
				topics := rapid.SliceOfN(rapid.SampledFrom(propPubTopics), 1, 6).Draw(rt, "publish")
				markers := make([]string, nsubs)
				for i, s := range subs {
					markers[i] = fmt.Sprintf("\xff%d-%d", i, round)
					s.Subscribe([]byte(markers[i]))
				}
				syncMarkers(rt, pub, subs, markers)
				want := make([][]string, nsubs)
				for _, topic := range topics {
					seq++
					if err := pub.Send(context.Background(), NewMsgString(topic, strconv.Itoa(seq))); err != nil {
						rt.Fatal(err)
					}
					for i, m := range models {
						if m.wants(topic) {
							want[i] = append(want[i], topic+"|"+strconv.Itoa(seq))
						}
					}
				}
				for i, s := range subs {
					end := markers[i] + "/end"
					if err := pub.Send(context.Background(), NewMsgString(end)); err != nil {
						rt.Fatal(err)
					}
					got := recvUntil(rt, s, end)
					if diff := cmp.Diff(want[i], got); diff != "" {
						rt.Fatalf("SUB %d, subscribed to %v, received (-want +got):\n%s", i, models[i], diff)
					}
					s.Unsubscribe([]byte(markers[i]))
				}
			}
		}
	})
}

// syncMarkers publishes each SUB's marker until that SUB has received it.
// Other markers (a SUB subscribed to "" gets them all) are skipped; any
// other message is a failure: nothing was published since the last batch
// ended.
func syncMarkers(rt *rapid.T, pub *Socket, subs []*Socket, markers []string) {
	deadline := time.Now().Add(10 * time.Second)
	done := make([]bool, len(subs))
	for left := len(subs); left > 0; {
		if time.Now().After(deadline) {
			rt.Fatalf("markers %q never all arrived", markers)
		}
		for i, ok := range done {
			if !ok {
				if err := pub.Send(context.Background(), NewMsgString(markers[i])); err != nil {
					rt.Fatal(err)
				}
			}
		}
		for i, s := range subs {
			for !done[i] {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
				m, err := s.Recv(ctx)
				cancel()
				if err != nil {
					break
				}
				got := m.String()
				if got == markers[i] {
					done[i] = true
					left--
				} else if !strings.HasPrefix(got, "\xff") {
					rt.Fatalf("SUB %d received %q between batches", i, got)
				}
			}
		}
	}
}

// recvUntil returns what s receives before end, markers left out.
func recvUntil(rt *rapid.T, s *Socket, end string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for {
		m, err := s.Recv(ctx)
		if err != nil {
			rt.Fatalf("waiting for %q: %v (after %q)", end, err, got)
		}
		switch text := m.String(); {
		case text == end:
			return got
		case strings.HasPrefix(text, "\xff"):
		default:
			got = append(got, text)
		}
	}
}
