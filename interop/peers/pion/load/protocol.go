// Package load is a bench load worker built on pion: it runs the client peers of the jobs
// the bench coordinator (src/bench/worker-processes.ts) sends it as JSON lines on stdin and
// answers with JSON lines on stdout, the same jobs and results as the Node bench worker
// (src/bench/worker/protocol.ts). Go and pion use every core, and the worker adds no
// interceptors (no NACK, reports or TWCC), so per packet it costs less than the servers it
// drives.
package load

import (
	"encoding/json"
)

// SessionPlan is one bench session: what to offer and what to wait for.
type SessionPlan struct {
	URL       string `json:"url"`
	Channel   bool   `json:"channel"`
	Video     bool   `json:"video"`
	FirstEcho bool   `json:"firstEcho"`
	TimeoutMs int    `json:"timeoutMs"`
}

// Job is every job kind in one struct; Kind says which fields apply.
type Job struct {
	Kind             string      `json:"kind"`
	Plan             SessionPlan `json:"plan"`
	Count            int         `json:"count"`
	Concurrency      int         `json:"concurrency"`
	Sessions         int         `json:"sessions"`
	Add              int         `json:"add"`
	PacketsPerSecond float64     `json:"packetsPerSecond"`
	DurationMs       int         `json:"durationMs"`
	DrainMs          int         `json:"drainMs"`
	PayloadBytes     int         `json:"payloadBytes"`
	MessageBytes     int         `json:"messageBytes"`
	Window           int         `json:"window"`
	MaxMessages      *int        `json:"maxMessages,omitempty"`
	// RatePerSecond > 0 makes a connect job an open loop: a session started every 1/rate s
	// whatever the others do, Concurrency only capping those in flight.
	RatePerSecond float64 `json:"ratePerSecond,omitempty"`
}

// Request is one line on stdin.
type Request struct {
	ID     int    `json:"id"`
	Engine string `json:"engine"`
	Job    Job    `json:"job"`
}

// Timings are ms since the session started, per step (client/timings.ts STEPS).
type Timings map[string]float64

// SessionRecord is one session's outcome.
type SessionRecord struct {
	OK      bool    `json:"ok"`
	Timings Timings `json:"timings"`
	Reason  string  `json:"reason,omitempty"`
	Message string  `json:"message,omitempty"`
}

// ConnectJobResult answers a connect job.
type ConnectJobResult struct {
	Sessions  []SessionRecord `json:"sessions"`
	ElapsedMs float64         `json:"elapsedMs"`
}

// OpenJobResult answers echo-open and idle-open.
type OpenJobResult struct {
	Opened   int             `json:"opened"`
	Failures []SessionRecord `json:"failures"`
}

// SessionStep is one session's share of an echo step.
type SessionStep struct {
	Sent     int     `json:"sent"`
	Echoed   int     `json:"echoed"`
	RttP50Ms float64 `json:"rttP50Ms"`
	RttP99Ms float64 `json:"rttP99Ms"`
}

// EchoStepResult answers echo-step.
type EchoStepResult struct {
	Sessions    int           `json:"sessions"`
	Sent        int           `json:"sent"`
	Echoed      int           `json:"echoed"`
	Duplicates  int           `json:"duplicates"`
	Renumbered  int           `json:"renumbered"`
	RttMs       []float64     `json:"rttMs"`
	SendStretch float64       `json:"sendStretch"`
	PerSession  []SessionStep `json:"perSession"`
}

// DataChannelJobResult answers a datachannel job.
type DataChannelJobResult struct {
	OpenJobResult
	Sent        int       `json:"sent"`
	Echoed      int       `json:"echoed"`
	Mismatched  int       `json:"mismatched"`
	BytesEchoed int       `json:"bytesEchoed"`
	RttMs       []float64 `json:"rttMs"`
	ElapsedMs   float64   `json:"elapsedMs"`
}

// message is one line on stdout.
type message struct {
	ID      int             `json:"id"`
	Type    string          `json:"type"`
	Done    int             `json:"done"`
	Failed  int             `json:"failed"`
	Result  json.RawMessage `json:"result,omitempty"`
	Message string          `json:"message,omitempty"`
}
