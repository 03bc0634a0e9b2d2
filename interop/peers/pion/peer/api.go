// Package peer holds what the pion server and client share: one way to build the
// pion API for this machine, and step timings printed on stderr.
package peer

import (
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
)

// NewAPI builds a pion API with the default codecs and interceptors (NACK, RTCP
// reports, TWCC) and ICE tuned for peers that live on the same machine.
func NewAPI() (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, registry); err != nil {
		return nil, err
	}

	settings := webrtc.SettingEngine{}
	// Interop runs on one machine: 127.0.0.1 is the shortest path, and pion leaves
	// it out unless asked.
	settings.SetIncludeLoopbackCandidate(true)
	// UDP over IPv4 only: gathering is faster and every peer we test speaks it.
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), nil
}
