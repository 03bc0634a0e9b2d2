package load

import (
	"encoding/binary"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// echoStream is one session's video leg under echo load: the current step's window of packets
// [base, base+planned), their send times, and what came back.
type echoStream struct {
	session *Session
	packet  []byte

	mu         sync.Mutex
	base       uint32
	planned    int
	sendTimes  []int64 // ns since epoch, written by the sender before the packet leaves
	sent       atomic.Int64
	seen       []bool
	echoed     int
	duplicates int
	renumbered int
	rtts       []float64
}

func newEchoStream(s *Session) *echoStream {
	e := &echoStream{session: s}
	s.setOnRTP(e.onEcho)
	return e
}

func (e *echoStream) beginStep(planned, payloadBytes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.packet) != benchHeader+payloadBytes {
		e.packet = make([]byte, benchHeader+payloadBytes)
		for i := range e.packet {
			e.packet[i] = 0x5a
		}
	}
	e.base = e.session.nextIndex
	e.planned = planned
	e.sendTimes = make([]int64, planned)
	e.seen = make([]bool, planned)
	e.sent.Store(0)
	e.echoed, e.duplicates, e.renumbered = 0, 0, 0
	e.rtts = make([]float64, 0, planned)
}

// run sends the step's packets at `pps`, spread evenly: every wake-up sends what is due.
func (e *echoStream) run(pps float64, started time.Time) time.Duration {
	planned := e.planned
	interval := time.Duration(float64(time.Second) / pps)
	tick := 2 * time.Millisecond
	if interval > tick {
		tick = interval
	}
	sent := 0
	for sent < planned {
		now := time.Now()
		due := int(float64(now.Sub(started))*pps/float64(time.Second)) + 1
		if due > planned {
			due = planned
		}
		for ; sent < due; sent++ {
			index := e.session.nextIndex
			e.session.nextIndex++
			writeBenchRTP(e.packet, e.session.video.payloadType(), e.session.video.ssrc(), index, now)
			atomic.StoreInt64(&e.sendTimes[sent], time.Since(epoch).Nanoseconds())
			e.sent.Store(int64(sent + 1))
			_, _ = e.session.video.write(e.packet)
		}
		if sent >= planned {
			break
		}
		next := started.Add(time.Duration(float64(sent) * float64(time.Second) / pps))
		wait := time.Until(next)
		if wait < tick {
			wait = tick
		}
		time.Sleep(wait)
	}
	return time.Since(started)
}

func (e *echoStream) onEcho(p []byte) {
	at := time.Since(epoch).Nanoseconds()
	index := benchIndexOf(p)
	if index < 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	slot := int64(uint32(index) - e.base)
	if uint32(index) < e.base || slot >= e.sent.Load() || slot >= int64(len(e.seen)) {
		return // not ours, or from an earlier step
	}
	if e.seen[slot] {
		e.duplicates++
		return
	}
	e.seen[slot] = true
	e.echoed++
	if binary.BigEndian.Uint16(p[2:]) != uint16(index) {
		e.renumbered++
	}
	e.rtts = append(e.rtts, float64(at-atomic.LoadInt64(&e.sendTimes[slot]))/1e6)
}

// EchoSessions holds the echo scenario's sessions between its jobs.
type EchoSessions struct {
	mu      sync.Mutex
	streams []*echoStream
}

func (x *EchoSessions) open(api *webrtc.API, job Job, progress func(done, failed int)) OpenJobResult {
	plan := job.Plan
	plan.Video, plan.Channel, plan.FirstEcho = true, false, true
	var failures []SessionRecord
	var mu sync.Mutex
	runConcurrently(job.Sessions, job.Concurrency, func(int) {
		s, record := openSession(api, plan)
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			x.mu.Lock()
			x.streams = append(x.streams, newEchoStream(s))
			x.mu.Unlock()
		} else {
			failures = append(failures, record)
		}
		progress(len(x.streams)+len(failures), len(failures))
	})
	return OpenJobResult{Opened: len(x.streams), Failures: nonNil(failures)}
}

func (x *EchoSessions) step(job Job) EchoStepResult {
	x.mu.Lock()
	streams := append([]*echoStream(nil), x.streams...)
	x.mu.Unlock()
	planned := int(math.Max(1, math.Round(job.PacketsPerSecond*float64(job.DurationMs)/1000)))
	for _, s := range streams {
		s.beginStep(planned, job.PayloadBytes)
	}
	started := time.Now()
	var wg sync.WaitGroup
	var longest atomic.Int64
	for _, s := range streams {
		wg.Add(1)
		go func(s *echoStream) {
			defer wg.Done()
			took := int64(s.run(job.PacketsPerSecond, started))
			for {
				old := longest.Load()
				if took <= old || longest.CompareAndSwap(old, took) {
					return
				}
			}
		}(s)
	}
	wg.Wait()
	stretch := float64(longest.Load()) / math.Max(float64(time.Duration(job.DurationMs)*time.Millisecond), 1)
	time.Sleep(time.Duration(job.DrainMs) * time.Millisecond)

	result := EchoStepResult{Sessions: len(streams), SendStretch: math.Round(stretch*100) / 100, RttMs: []float64{}, PerSession: []SessionStep{}}
	for _, s := range streams {
		s.mu.Lock()
		sent := int(s.sent.Load())
		result.Sent += sent
		result.Echoed += s.echoed
		result.Duplicates += s.duplicates
		result.Renumbered += s.renumbered
		for _, rtt := range s.rtts {
			result.RttMs = append(result.RttMs, math.Round(rtt*100)/100)
		}
		result.PerSession = append(result.PerSession, SessionStep{Sent: sent, Echoed: s.echoed, RttP50Ms: percentile(s.rtts, 50), RttP99Ms: percentile(s.rtts, 99)})
		s.mu.Unlock()
	}
	return result
}

func (x *EchoSessions) close() map[string]int {
	x.mu.Lock()
	streams := x.streams
	x.streams = nil
	x.mu.Unlock()
	closeAll(len(streams), func(i int) { streams[i].session.Close() })
	return map[string]int{"closed": len(streams)}
}

// percentile is the nearest rank on a copy (stats.ts), rounded to 0.01 ms; 0 when empty.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return math.Round(sorted[rank-1]*100) / 100
}
