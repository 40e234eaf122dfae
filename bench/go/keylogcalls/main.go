// SPDX-License-Identifier: Apache-2.0

// keylogcalls: calls crypto/tls.(*Config).writeKeyLog N times (KeyLogWriter nil, as in real
// programs) and prints the time per call: bench/go-tls.sh prices the Go probe's uprobe hit with it.
// It reaches the unexported method with go:linkname, which Go 1.23+ refuses for standard-library
// symbols not marked for it (build with -ldflags=-checklinkname=0 there).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"time"
	_ "unsafe" // go:linkname
)

//go:linkname writeKeyLog crypto/tls.(*Config).writeKeyLog
func writeKeyLog(c *tls.Config, label string, clientRandom, secret []byte) error

func main() {
	n := flag.Int("n", 100000, "calls")
	flag.Parse()
	config := &tls.Config{}
	random := make([]byte, 32)
	secret := make([]byte, 32)
	start := time.Now()
	for i := 0; i < *n; i++ {
		random[0] = byte(i)
		writeKeyLog(config, "CLIENT_TRAFFIC_SECRET_0", random, secret)
	}
	elapsed := time.Since(start)
	fmt.Printf("calls %d ns_per_call %.1f\n", *n, float64(elapsed.Nanoseconds())/float64(*n))
}
