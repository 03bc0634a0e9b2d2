package client

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/logging"
)

// sctpWatch passes pion's logs through its default logger and notes one thing in the "sctp"
// scope: pion/sctp 1.8.6 drops any INIT or INIT-ACK with a parameter it does not know and
// says so (association.go: "unable to parse SCTP packet ... Unknown ParamType: 32769"); 32769
// is 0x8001, Zero Checksum Acceptable (RFC 9653). That warning is all pion lets us see of it.
type sctpWatch struct {
	logging.LoggerFactory
	zeroChecksum atomic.Bool
}

func newSCTPWatch() *sctpWatch {
	return &sctpWatch{LoggerFactory: logging.NewDefaultLoggerFactory()}
}

func (w *sctpWatch) NewLogger(scope string) logging.LeveledLogger {
	logger := w.LoggerFactory.NewLogger(scope)
	if scope != "sctp" {
		return logger
	}
	return &sctpLogger{LeveledLogger: logger, watch: w}
}

type sctpLogger struct {
	logging.LeveledLogger
	watch *sctpWatch
}

func (l *sctpLogger) Warnf(format string, args ...interface{}) {
	if msg := fmt.Sprintf(format, args...); strings.Contains(msg, "ParamType: 32769") || strings.Contains(msg, "ParamType: 0x8001") {
		l.watch.zeroChecksum.Store(true)
	}
	l.LeveledLogger.Warnf(format, args...)
}
