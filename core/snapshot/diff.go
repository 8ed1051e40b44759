package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// jsonDiff names the differences between two JSON documents, as "path: published → now".
// Lists of objects with an "id" (the zones' proposals) are matched by id, so a proposal
// that changed zone reads as gone from one list and new in another, not as a shifted list.
// It knows nothing of the results format: whatever fields the results carry are compared.
func jsonDiff(published, now []byte) ([]string, error) {
	a, err := decode(published)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	b, err := decode(now)
	if err != nil {
		return nil, fmt.Errorf("rebuilt results: %w", err)
	}
	var out []string
	walk("", a, b, &out)
	return out, nil
}

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // compare numbers as written, not as rounded float64s
	var v any
	err := dec.Decode(&v)
	return v, err
}

func walk(path string, a, b any, out *[]string) {
	if len(*out) > MaxDifferences {
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			xv, inX := x[k]
			yv, inY := y[k]
			p := join(path, k)
			switch {
			case !inX:
				*out = append(*out, fmt.Sprintf("%s: absent → %s", p, short(yv)))
			case !inY:
				*out = append(*out, fmt.Sprintf("%s: %s → absent", p, short(xv)))
			default:
				walk(p, xv, yv, out)
			}
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		if xi, yi := byID(x), byID(y); xi != nil && yi != nil {
			walkByID(path, x, y, xi, yi, out)
			return
		}
		for i := range max(len(x), len(y)) {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case i >= len(x):
				*out = append(*out, fmt.Sprintf("%s: absent → %s", p, short(y[i])))
			case i >= len(y):
				*out = append(*out, fmt.Sprintf("%s: %s → absent", p, short(x[i])))
			default:
				walk(p, x[i], y[i], out)
			}
		}
		return
	}
	if full(a) != full(b) {
		*out = append(*out, fmt.Sprintf("%s: %s → %s", path, short(a), short(b)))
	}
}

// byID indexes a list of objects by their "id"; nil if it is not such a list.
func byID(xs []any) map[string]int {
	if len(xs) == 0 {
		return map[string]int{}
	}
	idx := make(map[string]int, len(xs))
	for i, v := range xs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		id, ok := m["id"]
		if !ok {
			return nil
		}
		idx[full(id)] = i
	}
	return idx
}

func walkByID(path string, x, y []any, xi, yi map[string]int, out *[]string) {
	for _, v := range x { // in the published order
		id := full(v.(map[string]any)["id"])
		p := fmt.Sprintf("%s[id=%s]", path, id)
		j, ok := yi[id]
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: in the published list, not in the rebuilt one", p))
			continue
		}
		walk(p, v, y[j], out)
	}
	for _, v := range y {
		id := full(v.(map[string]any)["id"])
		if _, ok := xi[id]; !ok {
			*out = append(*out, fmt.Sprintf("%s[id=%s]: in the rebuilt list, not in the published one", path, id))
		}
	}
	// Same members in another order is a difference too (the order is the ranking).
	if len(x) == len(y) {
		for i := range x {
			if full(x[i].(map[string]any)["id"]) != full(y[i].(map[string]any)["id"]) {
				*out = append(*out, fmt.Sprintf("%s: the order differs from position %d", path, i+1))
				break
			}
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// full is a value as JSON.
func full(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// short is a value as JSON, cut to stay readable in a report.
func short(v any) string {
	s := full(v)
	if len(s) > 80 {
		s = strings.ToValidUTF8(s[:77], "") + "..."
	}
	return s
}
