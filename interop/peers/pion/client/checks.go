package client

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sub-checks: one "check <name> <pass|fail|n/a> <detail>" line each on stderr, the protocol
// of interop/peers/README.md (the same names and meaning as src/client/sub-checks.ts).
func report(name, status, format string, args ...any) {
	detail := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintf(os.Stderr, "check %s %s %s\n", name, status, detail)
}

// section is one m= section of an SDP: its kind, mid and attribute lines.
type section struct {
	kind, mid string
	attrs     []string
}

// sdpSections splits an SDP into its session attributes and its m= sections.
func sdpSections(sdp string) (session []string, sections []section) {
	for _, line := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			kind := strings.Fields(strings.TrimPrefix(line, "m="))
			s := section{}
			if len(kind) > 0 {
				s.kind = kind[0]
			}
			sections = append(sections, s)
		case strings.HasPrefix(line, "a="):
			attr := strings.TrimPrefix(line, "a=")
			if len(sections) == 0 {
				session = append(session, attr)
				continue
			}
			last := &sections[len(sections)-1]
			last.attrs = append(last.attrs, attr)
			if strings.HasPrefix(attr, "mid:") {
				last.mid = strings.TrimPrefix(attr, "mid:")
			}
		}
	}
	return session, sections
}

func attrValue(attrs []string, name string) (string, bool) {
	for _, a := range attrs {
		if strings.HasPrefix(a, name+":") {
			return strings.TrimSpace(strings.TrimPrefix(a, name+":")), true
		}
	}
	return "", false
}

// setupOf is the a=setup of the first section that has one, else the session's (RFC 8842).
func setupOf(sdp string) string {
	session, sections := sdpSections(sdp)
	for _, s := range sections {
		if v, ok := attrValue(s.attrs, "setup"); ok {
			return v
		}
	}
	v, _ := attrValue(session, "setup")
	return v
}

// checkDTLSRole: offer actpass, answer active makes the server the DTLS client, passive the
// server (RFC 8842 §5); pion 3.1.56 keeps the role its transport took unexported.
func checkDTLSRole(offer, answer string, iceConnected, connected bool) {
	offered, answered := setupOf(offer), setupOf(answer)
	or := func(v, empty string) string {
		if v == "" {
			return empty
		}
		return v
	}
	sdp := fmt.Sprintf("offer %s, answer %s", or(offered, "without a=setup"), or(answered, "without a=setup"))
	switch {
	case answered == "":
		report("dtls-role", "fail", "the answer has no a=setup (%s)", sdp)
		return
	case answered == "actpass":
		report("dtls-role", "fail", "the answer says actpass, which only an offer may (RFC 8842 §5.3): nobody is the DTLS client (%s)", sdp)
		return
	case answered != "active" && answered != "passive":
		report("dtls-role", "fail", "the answer's a=setup:%s is not a role (%s)", answered, sdp)
		return
	case offered != "" && offered != "actpass" && offered == answered:
		report("dtls-role", "fail", "both sides %s (%s)", answered, sdp)
		return
	}
	ours, theirs := "client", "server"
	if answered == "active" {
		ours, theirs = "server", "client"
	}
	taken := fmt.Sprintf("we are the DTLS %s, the server the DTLS %s (%s; pion 3.1.56 does not export its transport's role)", ours, theirs, sdp)
	switch {
	case connected:
		report("dtls-role", "pass", "%s", taken)
	case iceConnected:
		report("dtls-role", "fail", "ICE connected but the DTLS handshake did not complete: %s", taken)
	default:
		report("dtls-role", "n/a", "not connected (ICE did not connect either): %s", taken)
	}
}

// maxMessageSize is the a=max-message-size of the data channel section: 64 KiB without one
// (RFC 8841 §6.1), 0 for any size; ok is false without a data channel section.
func maxMessageSize(sdp string) (size int, declared bool, ok bool) {
	_, sections := sdpSections(sdp)
	for _, s := range sections {
		if s.kind != "application" {
			continue
		}
		if v, found := attrValue(s.attrs, "max-message-size"); found {
			if n, err := strconv.Atoi(v); err == nil {
				return n, true, true
			}
		}
		return 65536, false, true
	}
	return 0, false, false
}

// mediaSection is the first section of a kind ("audio", "video").
func mediaSection(sdp, kind string) *section {
	_, sections := sdpSections(sdp)
	for i := range sections {
		if sections[i].kind == kind {
			return &sections[i]
		}
	}
	return nil
}

// extensionID is the a=extmap id of a header extension URI in a section, 0 without one.
func (s *section) extensionID(uri string) int {
	if s == nil {
		return 0
	}
	for _, a := range s.attrs {
		if !strings.HasPrefix(a, "extmap:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(a, "extmap:"))
		if len(fields) >= 2 && fields[1] == uri {
			id, _ := strconv.Atoi(strings.SplitN(fields[0], "/", 2)[0])
			return id
		}
	}
	return 0
}

// negotiatesFeedback says whether a section has a=rtcp-fb "typ [param]" for codec's payload types or *.
func (s *section) negotiatesFeedback(codec, typ, param string) bool {
	if s == nil {
		return false
	}
	payloads := map[string]bool{}
	for _, a := range s.attrs {
		if strings.HasPrefix(a, "rtpmap:") {
			fields := strings.Fields(strings.TrimPrefix(a, "rtpmap:"))
			if len(fields) == 2 && strings.EqualFold(strings.SplitN(fields[1], "/", 2)[0], codec) {
				payloads[fields[0]] = true
			}
		}
	}
	if len(payloads) == 0 {
		return false
	}
	for _, a := range s.attrs {
		if !strings.HasPrefix(a, "rtcp-fb:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(a, "rtcp-fb:"))
		if len(fields) < 2 || (fields[0] != "*" && !payloads[fields[0]]) || fields[1] != typ {
			continue
		}
		got := ""
		if len(fields) > 2 {
			got = fields[2]
		}
		if got == param {
			return true
		}
	}
	return false
}
