// Package peer holds what the pion server and client share: one way to build the
// pion API for this machine, and step timings printed on stderr.
package peer

import (
	"net"
	"net/url"
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// APIOptions adds to what NewAPI builds (the client's sub-checks need both).
type APIOptions struct {
	// Innermost interceptors, nearest the wire: they see packets after the default ones
	// (the NACK responder has already kept a packet that one of them drops).
	Innermost []interceptor.Factory
	// Loggers for pion's own logs; nil is pion's default.
	LoggerFactory logging.LoggerFactory
	// Gather loopback addresses only (127.0.0.1): the other side is on this machine, reached on
	// loopback, and this machine's other addresses must carry none of a test's packets.
	LoopbackOnly bool
}

// NewAPI builds a pion API with the default codecs and interceptors (NACK, RTCP
// reports, TWCC) and ICE tuned for peers that live on the same machine.
func NewAPI() (*webrtc.API, error) {
	return NewAPIWith(APIOptions{})
}

// NewAPIWith is NewAPI with the additions of opts.
func NewAPIWith(opts APIOptions) (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	// A chain wraps the transport's writer in registry order: the first added is nearest the wire.
	for _, factory := range opts.Innermost {
		registry.Add(factory)
	}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		return nil, err
	}

	settings := webrtc.SettingEngine{}
	if opts.LoggerFactory != nil {
		settings.LoggerFactory = opts.LoggerFactory
	}
	// Interop runs on one machine: 127.0.0.1 is the shortest path, and pion leaves
	// it out unless asked.
	settings.SetIncludeLoopbackCandidate(true)
	if opts.LoopbackOnly {
		settings.SetIPFilter(IsLoopbackIP)
	}
	// UDP over IPv4 only: gathering is faster and every peer we test speaks it.
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), nil
}

// IsLoopbackIP says whether ip is 127.0.0.0/8 or ::1 (pion's IP filter for LoopbackOnly).
func IsLoopbackIP(ip net.IP) bool { return ip.IsLoopback() }

// IsLoopbackHost says whether host (an address, "localhost", with or without brackets) is loopback.
func IsLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackURL says whether the host of rawURL is loopback: a server on this machine, to be
// reached on loopback only.
func IsLoopbackURL(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && IsLoopbackHost(u.Hostname())
}

// KeepLoopbackCandidates drops the candidate lines of sdp whose address is not loopback: a
// loopback-only peer must not check (send to) another interface's address a client offers.
// A client reached only through its checks still connects (peer-reflexive, from loopback).
func KeepLoopbackCandidates(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	kept := lines[:0]
	for _, line := range lines {
		if strings.HasPrefix(line, "a=candidate:") {
			fields := strings.Fields(line)
			if len(fields) < 5 || !IsLoopbackHost(fields[4]) {
				continue
			}
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "")
}
