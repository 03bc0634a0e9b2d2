package client

import (
	"testing"
	"time"
)

func TestParseArgsAcceptsEveryFormOfTheContainerContract(t *testing.T) {
	cases := []struct {
		args []string
		url  string
		test int
	}{
		{[]string{"http://127.0.0.1:8080/offer"}, "http://127.0.0.1:8080/offer", 0},
		{[]string{"-s", "http://h:1/offer", "-t", "1"}, "http://h:1/offer", 1},
		{[]string{"-s http://h:1/offer -t 1"}, "http://h:1/offer", 1},
		{[]string{"--test=1", "http://h:1/offer"}, "http://h:1/offer", 1},
		{[]string{"http://h:1"}, "http://h:1/offer", 0},
	}
	for _, c := range cases {
		opts, err := ParseArgs(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if opts.URL != c.url || opts.Test != c.test || opts.Timeout != 15*time.Second {
			t.Errorf("%q: got url %q test %d timeout %s", c.args, opts.URL, opts.Test, opts.Timeout)
		}
	}
}

func TestParseArgsRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"ftp://h/offer"},
		{"-s"},
		{"--timeout", "0", "http://h/offer"},
		{"--bogus", "http://h/offer"},
	} {
		if _, err := ParseArgs(args); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

func TestAnotherTestTypeParsesButIsUnsupported(t *testing.T) {
	opts, err := ParseArgs([]string{"-t", "2", "http://h/offer"})
	if err != nil || opts.Supported() {
		t.Fatalf("-t 2: err %v, supported %v; want it parsed and unsupported (exit 127)", err, opts.Supported())
	}
}
