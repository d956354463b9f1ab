//go:build !linux

package transport

import (
	"errors"
	"time"
)

// Connections do not park here: each keeps its reader goroutine.
const canPark = false

var idleAfter = 100 * time.Millisecond

const maxIdleWait = 2 * time.Second

type idlePoller struct{}

var idle idlePoller

func (*idlePoller) add(int, *Conn) error { return errors.New("zmtp: parking is Linux's") }
func (*idlePoller) remove(int, *Conn)    {}
