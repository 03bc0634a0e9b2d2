// pion-client is the pion Echo Test client. It exits 0 when the test passes and 1,
// with one "error: <reason>: <detail>" line on stderr, when it does not; 127 for a test
// type it does not run (as the QUIC interop runner's clients do).
package main

import (
	"fmt"
	"os"

	"webrtcecho/pion/client"
)

func main() {
	opts, err := client.ParseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: usage: %v\n%s\n", err, client.Usage)
		os.Exit(1)
	}
	if !opts.Supported() {
		fmt.Fprintf(os.Stderr, "error: unsupported: test type %d is not one this client runs (0, 1)\n", opts.Test)
		os.Exit(127)
	}
	if err := client.Run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ok test %d\n", opts.Test)
}
