package client

import "fmt"

// Reason names why a run failed; it starts the one line printed on stderr.
type Reason string

const (
	ReasonSignalingUnreachable Reason = "signaling-unreachable" // connect/refused/HTTP timeout
	ReasonSignalingHTTP        Reason = "signaling-http"        // non-2xx status
	ReasonBadAnswer            Reason = "bad-answer"            // body is not an SDP answer pion accepts
	ReasonConnectionFailed     Reason = "connection-failed"     // ICE or DTLS failed, or the peer closed
	ReasonTimeout              Reason = "timeout"               // --timeout elapsed
	ReasonEchoMismatch         Reason = "echo-mismatch"         // data channel echoed something else
	ReasonNoEcho               Reason = "no-echo"               // --require-echo and no RTP came back
	ReasonInternal             Reason = "internal"              // pion refused a local step
)

// Failure is a run's error: a reason and a human detail.
type Failure struct {
	Reason Reason
	Detail string
}

func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Reason, f.Detail) }

func fail(reason Reason, format string, args ...any) *Failure {
	return &Failure{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}
