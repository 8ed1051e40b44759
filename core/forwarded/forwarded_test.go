package forwarded

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTrusted_AddressesAndPrefixes(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		in, out    []string
		err        bool
	}{
		{name: "empty trusts no one", list: "", out: []string{"127.0.0.1", "::1"}},
		{name: "blanks and commas only", list: " , ,", out: []string{"127.0.0.1"}},
		{name: "one address", list: "127.0.0.1", in: []string{"127.0.0.1", "::ffff:127.0.0.1"}, out: []string{"127.0.0.2"}},
		{name: "IPv4 prefix", list: "10.0.0.0/8", in: []string{"10.1.2.3", "10.255.255.255"}, out: []string{"11.0.0.1"}},
		{name: "unmasked prefix is masked", list: "192.168.1.77/24", in: []string{"192.168.1.1"}, out: []string{"192.168.2.1"}},
		{name: "IPv6 address and prefix", list: "::1, fd00::/8", in: []string{"::1", "fd12::5"}, out: []string{"fe80::1", "::2"}},
		{name: "IPv4-mapped prefix", list: "::ffff:10.0.0.0/104", in: []string{"10.9.9.9"}, out: []string{"11.0.0.1"}},
		{name: "several with spaces", list: " 127.0.0.1 ,10.0.0.0/8 ", in: []string{"127.0.0.1", "10.0.0.1"}, out: []string{"172.16.0.1"}},
		{name: "garbage", list: "localhost", err: true},
		{name: "bad prefix length", list: "10.0.0.0/33", err: true},
		{name: "half garbage", list: "127.0.0.1, 10.0.0.0/x", err: true},
		{name: "port is not an address", list: "127.0.0.1:80", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ParseTrusted(tc.list)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseTrusted(%q) accepted %v", tc.list, tr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tc.in {
				if !tr.Contains(netip.MustParseAddr(a)) {
					t.Errorf("%s not trusted by %q", a, tc.list)
				}
			}
			for _, a := range tc.out {
				if tr.Contains(netip.MustParseAddr(a)) {
					t.Errorf("%s trusted by %q", a, tc.list)
				}
			}
		})
	}
}

func TestClient_RightmostUntrustedHop(t *testing.T) {
	tr, err := ParseTrusted("127.0.0.1, 10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		fwd  []string
		want string
	}{
		{name: "no headers: the peer", peer: "127.0.0.1", want: "127.0.0.1"},
		{name: "untrusted peer: X-Forwarded-For ignored", peer: "198.51.100.7", xff: []string{"203.0.113.9"}, want: "198.51.100.7"},
		{name: "untrusted peer: Forwarded ignored", peer: "198.51.100.7", fwd: []string{"for=203.0.113.9"}, want: "198.51.100.7"},
		{name: "trusted peer, one hop", peer: "127.0.0.1", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "spoofed entry to the left is skipped", peer: "127.0.0.1", xff: []string{"1.2.3.4, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "chain of trusted proxies", peer: "127.0.0.1", xff: []string{"6.6.6.6, 203.0.113.9, 10.0.0.2, 10.0.0.3"}, want: "203.0.113.9"},
		{name: "several header lines in order", peer: "127.0.0.1", xff: []string{"6.6.6.6", "203.0.113.9, 10.0.0.2"}, want: "203.0.113.9"},
		{name: "empty elements ignored", peer: "127.0.0.1", xff: []string{" , 203.0.113.9 ,"}, want: "203.0.113.9"},
		{name: "all hops trusted: the farthest", peer: "127.0.0.1", xff: []string{"10.0.0.9, 10.0.0.2"}, want: "10.0.0.9"},
		{name: "garbage on the left is ignored", peer: "127.0.0.1", xff: []string{"<script>, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "garbage as the client: the peer", peer: "127.0.0.1", xff: []string{"203.0.113.9, not-an-ip"}, want: "127.0.0.1"},
		{name: "garbage after trusted hops: the peer", peer: "127.0.0.1", xff: []string{"evil, 10.0.0.2"}, want: "127.0.0.1"},
		{name: "empty X-Forwarded-For: the peer", peer: "127.0.0.1", xff: []string{" "}, want: "127.0.0.1"},
		{name: "port on an IPv4 hop", peer: "127.0.0.1", xff: []string{"203.0.113.9:5555"}, want: "203.0.113.9"},
		{name: "bare IPv6 hop", peer: "127.0.0.1", xff: []string{"2001:db8::17"}, want: "2001:db8::17"},
		{name: "bracketed IPv6 hop with port", peer: "127.0.0.1", xff: []string{"[2001:db8::17]:4711"}, want: "2001:db8::17"},
		{name: "IPv4-mapped hop is unmapped", peer: "127.0.0.1", xff: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "IPv4-mapped trusted peer", peer: "::ffff:127.0.0.1", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "IPv6 trusted peer", peer: "fd00::1", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "IPv6 proxy in the chain", peer: "127.0.0.1", xff: []string{"2001:db8::17, fd00::2"}, want: "2001:db8::17"},
		{name: "Forwarded, one element", peer: "127.0.0.1", fwd: []string{"for=203.0.113.9;proto=https;by=10.0.0.1"}, want: "203.0.113.9"},
		{name: "Forwarded, case and spaces", peer: "127.0.0.1", fwd: []string{"Proto=http; FOR = 203.0.113.9"}, want: "203.0.113.9"},
		{name: "Forwarded, quoted with port", peer: "127.0.0.1", fwd: []string{`for="203.0.113.9:80"`}, want: "203.0.113.9"},
		{name: "Forwarded, quoted IPv6 in brackets", peer: "127.0.0.1", fwd: []string{`for="[2001:db8:cafe::17]:4711"`}, want: "2001:db8:cafe::17"},
		{name: "Forwarded, chain", peer: "127.0.0.1", fwd: []string{`for=6.6.6.6, for=203.0.113.9;proto=https, for="[fd00::3]"`}, want: "203.0.113.9"},
		{name: "Forwarded, several lines", peer: "127.0.0.1", fwd: []string{"for=6.6.6.6", "for=203.0.113.9, for=10.0.0.4"}, want: "203.0.113.9"},
		{name: "Forwarded, comma inside quotes", peer: "127.0.0.1", fwd: []string{`for=203.0.113.9;x="a,b;c", for=10.0.0.4`}, want: "203.0.113.9"},
		{name: "Forwarded, unknown client: the peer", peer: "127.0.0.1", fwd: []string{"for=unknown"}, want: "127.0.0.1"},
		{name: "Forwarded, obfuscated client: the peer", peer: "127.0.0.1", fwd: []string{"for=_hidden, for=10.0.0.4"}, want: "127.0.0.1"},
		{name: "Forwarded, element without for: the peer", peer: "127.0.0.1", fwd: []string{"proto=https"}, want: "127.0.0.1"},
		{name: "Forwarded, unclosed bracket", peer: "127.0.0.1", fwd: []string{`for="[2001:db8::17"`}, want: "127.0.0.1"},
		{name: "Forwarded, IPv4 in brackets is refused", peer: "127.0.0.1", fwd: []string{`for="[203.0.113.9]"`}, want: "127.0.0.1"},
		{name: "Forwarded, bad port", peer: "127.0.0.1", fwd: []string{`for="203.0.113.9:http"`}, want: "127.0.0.1"},
		{name: "X-Forwarded-For wins over Forwarded", peer: "127.0.0.1", xff: []string{"203.0.113.9"}, fwd: []string{"for=6.6.6.6"}, want: "203.0.113.9"},
		{name: "Forwarded when X-Forwarded-For is blank", peer: "127.0.0.1", xff: []string{""}, fwd: []string{"for=203.0.113.9"}, want: "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tr.Client(netip.MustParseAddr(tc.peer), tc.xff, tc.fwd)
			if got.String() != tc.want {
				t.Fatalf("Client(%s, %q, %q) = %s, want %s", tc.peer, tc.xff, tc.fwd, got, tc.want)
			}
		})
	}
}

func TestClient_NoTrustedProxyMeansThePeer(t *testing.T) {
	var tr Trusted
	got := tr.Client(netip.MustParseAddr("127.0.0.1"), []string{"203.0.113.9"}, []string{"for=6.6.6.6"})
	if got.String() != "127.0.0.1" {
		t.Fatalf("with no trusted proxy the headers chose %s", got)
	}
}

// Whatever the headers say, the client is the peer or an address one of them holds, and
// nothing panics.
func FuzzClient(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.2.3.4, 10.0.0.2", `for="[2001:db8::1]:80";proto=https, for=10.0.0.3`,
		`for="a\"b,c"`, "[::1", "unknown", "", ",,,", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		f.Add(s, s)
	}
	tr, err := ParseTrusted("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	peer := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		got := tr.Client(peer, []string{xff}, []string{fwd})
		if got == peer {
			return
		}
		hops := strings.Split(xff, ",")
		hops = append(hops, forValues(fwd)...)
		for _, h := range hops {
			if a, ok := ParseHop(h); ok && a == got {
				return
			}
		}
		t.Fatalf("Client(%q, %q) = %s, from neither the peer nor the headers", xff, fwd, got)
	})
}

func TestNetwork_IPv6CountsByItsSlash64(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:abcd::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"":                     "",
		"not an address":       "not an address",
	} {
		if got := Network(in); got != want {
			t.Errorf("Network(%q) = %q, want %q", in, got, want)
		}
	}
}
