// pion-server is the pion Echo Test server: POST /offer, echo of RTP and data
// channel messages. It prints "listening <port>" on stdout once ready and exits 0
// on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"webrtcecho/pion/peer"
	"webrtcecho/pion/server"
)

func main() {
	host := flag.String("host", "0.0.0.0", "address to listen on")
	port := flag.Int("port", 8080, "TCP port of the HTTP signaling (0 picks a free one)")
	flag.Parse()
	log.SetOutput(os.Stderr)
	log.SetFlags(log.Lmicroseconds)

	// A server listening on loopback is for clients on this machine: it announces loopback only.
	api, err := peer.NewAPIWith(peer.APIOptions{LoopbackOnly: peer.IsLoopbackHost(*host)})
	if err != nil {
		log.Fatalf("pion API: %v", err)
	}
	sessions := server.NewSessions(api)
	sessions.LoopbackOnly = peer.IsLoopbackHost(*host)
	listener, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	httpServer := &http.Server{Handler: server.Handler(sessions), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := httpServer.Serve(listener); err != nil && err != http.ErrServerClosed {
			log.Fatalf("serve: %v", err)
		}
	}()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)

	sig := <-signals
	log.Printf("%s: closing %d sessions", sig, sessions.Count())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = httpServer.Shutdown(ctx)
	sessions.CloseAll(2 * time.Second)
	os.Exit(0)
}
