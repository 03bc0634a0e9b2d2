// pion-load is the bench's pion load worker: JSON jobs on stdin, JSON results on stdout
// (interop/peers/pion/load). The bench coordinator starts it: `webrtc-echo bench --generator pion`.
// PION_LOAD_CPUPROFILE=<file> writes a Go CPU profile of the whole run (go tool pprof).
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"webrtcecho/pion/load"
)

func main() {
	if path := os.Getenv("PION_LOAD_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := load.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pion-load: %v\n", err)
		os.Exit(1)
	}
}
