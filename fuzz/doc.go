// Package fuzz holds end-to-end fuzz targets in the style of libzmq's
// OSS-Fuzz bind fuzzer: a real bound socket on loopback receives a valid
// greeting and then arbitrary bytes, and must neither panic nor grow beyond
// its limits, while a well-behaved peer that connects meanwhile still gets
// its message through. Run a campaign with
//
//	go test ./fuzz/ -run '^$' -fuzz '^FuzzBoundSocket$' -fuzztime 60s
package fuzz
