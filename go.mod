module github.com/zmtpgo/zmtp

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/looplab/fsm v1.0.3
	github.com/pebbe/zmq4 v1.4.0
	go.uber.org/goleak v1.3.0
	golang.org/x/tools v0.52.0
	pgregory.net/rapid v1.3.0
)
