// Package client is the pion Echo Test client: it offers, POSTs the offer, applies
// the answer and checks the connection (test 0) or a data channel echo (test 1).
package client

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"
)

// Options are the client's command line, validated.
type Options struct {
	URL      string        // the server's /offer
	Test     int           // 0 peer connection, 1 data channel echo
	Timeout  time.Duration // whole run; default 15 s
	EchoWait time.Duration // test 0: how long to wait for echoed RTP once connected; default 0
	NeedEcho bool          // test 0: fail when nothing was echoed within EchoWait
	IVF      string        // VP8 clip to send; empty: found in testdata/, else synthetic
	// ICE servers (--ice-server, repeatable): stun:HOST:PORT or turn://USER:PASS@HOST:PORT?transport=udp|tcp
	ICEServers []webrtc.ICEServer
	RelayOnly  bool // --relay-only: relay candidates only (ICETransportPolicyRelay)
}

// Supported says whether this client runs the options' test type (0 and 1); main exits 127 otherwise.
func (o Options) Supported() bool { return o.Test == 0 || o.Test == 1 }

// Usage is printed with any argument error.
const Usage = `usage: pion-client URL
       pion-client -s URL [-t 0|1] [--timeout SECONDS] [--echo-ms MS] [--require-echo] [--ivf FILE]
                  [--ice-server URL]... [--relay-only]
       pion-client "-s URL -t 1"   (all flags in one argument, as the Echo Test containers pass them)`

// ParseArgs reads both forms of the container contract: "URL" and "-s URL -t N",
// the latter possibly as one argument holding all flags.
func ParseArgs(args []string) (Options, error) {
	if len(args) == 1 && strings.ContainsAny(strings.TrimSpace(args[0]), " \t") {
		args = strings.Fields(args[0])
	}
	opts := Options{Timeout: 15 * time.Second}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "-") {
			if opts.URL != "" {
				return opts, fmt.Errorf("unexpected argument %q", arg)
			}
			opts.URL = arg
			continue
		}
		if !hasValue {
			name = arg
		}
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "-s", "--server", "--url":
			opts.URL, err = takeValue()
		case "-t", "--test":
			var v string
			if v, err = takeValue(); err == nil {
				// Any number parses: one this client does not run is "unsupported" (exit 127), not a usage error.
				opts.Test, err = strconv.Atoi(v)
			}
		case "--timeout":
			var v string
			if v, err = takeValue(); err == nil {
				opts.Timeout, err = seconds(v)
			}
		case "--echo-ms":
			var v string
			if v, err = takeValue(); err == nil {
				var ms int
				ms, err = strconv.Atoi(v)
				opts.EchoWait = time.Duration(ms) * time.Millisecond
			}
		case "--require-echo":
			opts.NeedEcho = true
		case "--ivf":
			opts.IVF, err = takeValue()
		case "--ice-server":
			var v string
			if v, err = takeValue(); err == nil {
				var server webrtc.ICEServer
				if server, err = parseICEServer(v); err == nil {
					opts.ICEServers = append(opts.ICEServers, server)
				}
			}
		case "--relay-only":
			opts.RelayOnly = true
		case "-h", "--help":
			return opts, fmt.Errorf("help requested")
		default:
			err = fmt.Errorf("unknown flag %s", name)
		}
		if err != nil {
			return opts, err
		}
	}
	if opts.URL == "" {
		return opts, fmt.Errorf("missing server URL")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return opts, fmt.Errorf("not an http(s) URL: %q", opts.URL)
	}
	// A bare server address means its /offer, the only path the Echo Test defines.
	if u.Path == "" || u.Path == "/" {
		u.Path = "/offer"
		opts.URL = u.String()
	}
	if opts.RelayOnly && len(opts.ICEServers) == 0 {
		return opts, fmt.Errorf("--relay-only needs a TURN server (--ice-server)")
	}
	if opts.NeedEcho && opts.EchoWait == 0 {
		opts.EchoWait = 3 * time.Second
	}
	return opts, nil
}

func seconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("timeout must be a positive number of seconds, got %q", v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// parseICEServer reads our command line's two forms: a plain stun:/turn: URL (RFC 7064/7065),
// or turn://USER:PASS@HOST:PORT?transport=udp|tcp with the credentials inside.
func parseICEServer(v string) (webrtc.ICEServer, error) {
	if !strings.Contains(v, "://") {
		if !strings.HasPrefix(v, "stun:") && !strings.HasPrefix(v, "turn:") && !strings.HasPrefix(v, "turns:") {
			return webrtc.ICEServer{}, fmt.Errorf("not a STUN or TURN URL: %q", v)
		}
		return webrtc.ICEServer{URLs: []string{v}}, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "turn" && u.Scheme != "turns") || u.Host == "" {
		return webrtc.ICEServer{}, fmt.Errorf("not a turn:// URL: %q", v)
	}
	plain := u.Scheme + ":" + u.Host
	if t := u.Query().Get("transport"); t != "" {
		plain += "?transport=" + t
	}
	password, _ := u.User.Password()
	return webrtc.ICEServer{URLs: []string{plain}, Username: u.User.Username(), Credential: password}, nil
}
