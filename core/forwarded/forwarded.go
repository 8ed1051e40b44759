// Package forwarded finds a request's client address behind load balancers: from the socket
// peer, or, only when that peer is a configured trusted proxy, from the X-Forwarded-For or
// RFC 7239 Forwarded header the proxy added.
//
// The rule is the rightmost address that is not itself a trusted proxy. Each proxy appends
// the address it received the request from, so the rightmost entries were written by
// proxies we trust and everything to the left of the first untrusted one may have been
// typed by the client. Taking the leftmost entry (as Fiber's ProxyHeader does) would let
// anyone choose their address with a header, and so escape every per-address limit.
package forwarded

import (
	"fmt"
	"net/netip"
	"strings"
)

// Trusted is the set of proxies whose forwarding headers are believed. The zero value trusts
// no one: the client address is always the socket peer.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseTrusted reads a comma-separated list of addresses and CIDR prefixes
// ("10.0.0.0/8, 127.0.0.1, fd00::/8"); an empty list trusts no one.
func ParseTrusted(list string) (Trusted, error) {
	var t Trusted
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return Trusted{}, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix such as 10.0.0.0/8", f)
			}
			if p.Addr().Is4In6() { // ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared unmapped
				p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
			}
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return Trusted{}, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix such as 10.0.0.0/8", f)
		}
		a = a.Unmap().WithZone("")
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// Empty reports whether no proxy is trusted.
func (t Trusted) Empty() bool { return len(t.prefixes) == 0 }

// Contains reports whether a is a trusted proxy.
func (t Trusted) Contains(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the trusted prefixes, for logs.
func (t Trusted) String() string { return strings.Join(t.Prefixes(), ",") }

// Prefixes lists the trusted prefixes as CIDR text ("10.0.0.0/8"), as Fiber's TrustedProxies
// takes them.
func (t Trusted) Prefixes() []string {
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return s
}

// Client returns the client's address for a request that came from peer (the socket's
// remote address) with the given X-Forwarded-For and Forwarded header lines, in the order
// they arrived. Headers count only when peer is trusted; X-Forwarded-For wins when both are
// present (the proxy in front must set, or overwrite, the one it uses). When the headers give
// nothing usable the peer is the client: a proxy's clients then share one address, which
// limits them too much rather than not at all.
func (t Trusted) Client(peer netip.Addr, xff, fwd []string) netip.Addr {
	peer = peer.Unmap().WithZone("")
	if !t.Contains(peer) {
		return peer
	}
	var hops []string
	switch {
	case hasValue(xff):
		for _, line := range xff {
			for _, h := range strings.Split(line, ",") {
				if strings.TrimSpace(h) != "" { // lists may hold empty elements (RFC 9110 §5.6.1)
					hops = append(hops, h)
				}
			}
		}
	case hasValue(fwd):
		for _, line := range fwd {
			hops = append(hops, forValues(line)...)
		}
	default:
		return peer
	}
	// From the right: skip the trusted proxies; the first other hop is the client. When every
	// hop is trusted, the request came from a proxy itself: the leftmost is the farthest.
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := ParseHop(hops[i])
		if !ok {
			return peer // a proxy we trust wrote something that is no address: believe none of it
		}
		client = a
		if !t.Contains(a) {
			break
		}
	}
	return client
}

func hasValue(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return true
		}
	}
	return false
}

// ParseHop reads one hop: an address with an optional port ("192.0.2.7", "192.0.2.7:4711"),
// an IPv6 address bare or in brackets with an optional port ("2001:db8::1", "[2001:db8::1]:80"),
// possibly in double quotes (RFC 7239). "unknown", obfuscated names ("_hidden") and anything
// else are not addresses.
func ParseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return netip.Addr{}, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || (end+1 < len(s) && !validPort(s[end+1:])) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a.Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") == 1 && validPort(s[i:]) {
		if a, err := netip.ParseAddr(s[:i]); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// validPort checks ":1234" (the colon included).
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// forValues returns the for= value of each element of one Forwarded header line, in order;
// an element without one gives "" (an unusable hop). Elements are separated by commas and
// pairs by semicolons, outside quoted strings; parameter names are case-insensitive.
func forValues(line string) []string {
	var out []string
	for _, elem := range splitUnquoted(line, ',') {
		v := ""
		for _, pair := range splitUnquoted(elem, ';') {
			name, value, ok := strings.Cut(pair, "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
				v = strings.TrimSpace(value)
				break
			}
		}
		out = append(out, v)
	}
	return out
}

// splitUnquoted splits s at sep, except inside double-quoted strings (with backslash escapes).
func splitUnquoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Network is the network a client address stands for, as limits and the vote source count
// it: an IPv4 address itself, an IPv6 address's /64 (one home or one phone gets a whole /64,
// so counting its addresses one by one would let a script take a new one per session). Text
// that is not an address is returned as is.
func Network(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap().WithZone(""); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
