package pluginhost

import (
	"strings"

	"github.com/concorde-civic/concorde/plugins/sdk/pluginpb"
)

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isRest(seg string) bool { return seg == "*" || strings.HasSuffix(seg, "...}") }

// matchRoute finds the manifest route serving method and path (relative to the plugin).
func matchRoute(m *pluginpb.Manifest, method, path string) *pluginpb.Route {
	segs := splitPath(path)
	for _, r := range m.GetRoutes() {
		if r.GetMethod() != method {
			continue
		}
		if segmentsMatch(splitPath(r.GetPath()), segs) {
			return r
		}
	}
	return nil
}

func segmentsMatch(pattern, segs []string) bool {
	for i, p := range pattern {
		if isRest(p) {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if p != segs[i] {
			return false
		}
	}
	return len(pattern) == len(segs)
}
