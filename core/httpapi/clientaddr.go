package httpapi

import (
	"net/netip"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/concorde-civic/concorde/core/caller"
	"github.com/concorde-civic/concorde/core/forwarded"
)

// setClientAddr puts the client's address in the request's context, once, before anything
// logs or limits by address: the socket peer, or what a trusted proxy forwarded (see
// core/forwarded for the rule). Nothing else reads c.IP(): Fiber's ProxyHeader would take
// the leftmost X-Forwarded-For entry, which the client chooses.
func (s *Server) setClientAddr(c *fiber.Ctx) error {
	c.SetUserContext(caller.WithClientAddr(c.UserContext(), s.clientAddrOf(c)))
	return c.Next()
}

// clientAddrOf returns a new string (netip formats it), never one into Fiber's buffers: the
// address becomes a limiter key and a log attribute.
func (s *Server) clientAddrOf(c *fiber.Ctx) string {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.TrustedProxies.Contains(peer) {
		return peer.String()
	}
	h := &c.Request().Header
	return s.TrustedProxies.Client(peer, headerLines(h, "X-Forwarded-For"), headerLines(h, "Forwarded")).String()
}

// headerLines returns every line of a request header, in order, copied.
func headerLines(h *fasthttp.RequestHeader, name string) []string {
	all := h.PeekAll(name)
	if len(all) == 0 {
		return nil
	}
	out := make([]string, len(all))
	for i, b := range all {
		out[i] = string(b)
	}
	return out
}

// clientAddr is the request's client address, as setClientAddr found it.
func clientAddr(c *fiber.Ctx) string { return caller.ClientAddr(c.UserContext()) }

// clientNetwork is the network the client's address stands for (forwarded.Network: an IPv6
// address counts by its /64): the source that per-source limits and the vote source count.
func clientNetwork(c *fiber.Ctx) string { return forwarded.Network(clientAddr(c)) }
