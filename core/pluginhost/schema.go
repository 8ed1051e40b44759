package pluginhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/concorde-civic/concorde/core/errs"
)

// Schema is the subset of JSON Schema that plugins use for their settings: an object of
// typed properties, with required, enum, minLength/maxLength, minimum/maximum and default.
// Properties not declared are refused.
type Schema struct {
	Type       string               `json:"type"`
	Properties map[string]*Property `json:"properties"`
	Required   []string             `json:"required,omitempty"`
}

// Property is one setting.
type Property struct {
	Type        string   `json:"type"` // string, integer, number or boolean
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Enum        []any    `json:"enum,omitempty"`
	MinLength   *int     `json:"minLength,omitempty"`
	MaxLength   *int     `json:"maxLength,omitempty"`
	Minimum     *float64 `json:"minimum,omitempty"`
	Maximum     *float64 `json:"maximum,omitempty"`
	Default     any      `json:"default,omitempty"`
	// WriteOnly marks a secret (a string): stored encrypted, never shown back.
	WriteOnly bool `json:"writeOnly,omitempty"`
}

// ParseSchema reads a settings schema; an empty one allows only {}.
func ParseSchema(raw []byte) (*Schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &Schema{Type: "object"}, nil
	}
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, errs.Field("settings_schema", "the settings schema is not in the supported subset: %v", err)
	}
	if s.Type != "object" {
		return nil, errs.Field("settings_schema", "the settings schema must be of type object")
	}
	for name, p := range s.Properties {
		switch p.Type {
		case "string", "integer", "number", "boolean":
		default:
			return nil, errs.Field("settings_schema", "setting %q has unsupported type %q", name, p.Type)
		}
		if p.WriteOnly && (p.Type != "string" || p.Default != nil) {
			return nil, errs.Field("settings_schema", "secret setting %q must be a string without a default", name)
		}
		if p.Default != nil {
			if err := p.check(name, p.Default); err != nil {
				return nil, errs.Field("settings_schema", "default of %q: %s", name, errMsg(err))
			}
		}
	}
	for _, r := range s.Required {
		if _, ok := s.Properties[r]; !ok {
			return nil, errs.Field("settings_schema", "required setting %q is not a property", r)
		}
	}
	return &s, nil
}

func errMsg(err error) string { m, _ := errs.MessageOf(err); return m }

// Validate checks settings against the schema and returns them with defaults filled in,
// encoded canonically (sorted keys).
func (s *Schema) Validate(raw json.RawMessage) (json.RawMessage, error) {
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, errs.E(errs.Invalid, "settings must be a JSON object").Say("err_settings_object")
	}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p, ok := s.Properties[k]
		if !ok {
			return nil, errs.Field(k, "unknown setting %q", k).Say("err_setting_unknown")
		}
		if p.WriteOnly && v[k] == Mask {
			continue // a stored secret, kept as it is
		}
		if err := p.check(k, v[k]); err != nil {
			return nil, err
		}
	}
	for name, p := range s.Properties {
		if _, ok := v[name]; !ok && p.Default != nil {
			v[name] = p.Default
		}
	}
	for _, r := range s.Required {
		if _, ok := v[r]; !ok {
			return nil, errs.Field(r, "setting %q is required", r).Say("err_setting_required")
		}
	}
	return json.Marshal(v)
}

func (p *Property) check(name string, v any) error {
	switch p.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			return errs.Field(name, "setting %q must be a string", name).Say("err_setting_string")
		}
		n := utf8.RuneCountInString(s)
		if p.MinLength != nil && n < *p.MinLength {
			return errs.Field(name, "setting %q must have at least %d characters", name, *p.MinLength).Say("err_setting_min_length")
		}
		if p.MaxLength != nil && n > *p.MaxLength {
			return errs.Field(name, "setting %q must have at most %d characters", name, *p.MaxLength).Say("err_setting_max_length")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return errs.Field(name, "setting %q must be true or false", name).Say("err_setting_bool")
		}
	case "integer", "number":
		f, ok := number(v)
		if !ok {
			return errs.Field(name, "setting %q must be a number", name).Say("err_setting_number")
		}
		if p.Type == "integer" && f != math.Trunc(f) {
			return errs.Field(name, "setting %q must be a whole number", name).Say("err_setting_integer")
		}
		if p.Minimum != nil && f < *p.Minimum {
			return errs.Field(name, "setting %q must be at least %v", name, *p.Minimum).Say("err_setting_min")
		}
		if p.Maximum != nil && f > *p.Maximum {
			return errs.Field(name, "setting %q must be at most %v", name, *p.Maximum).Say("err_setting_max")
		}
	}
	if len(p.Enum) > 0 && !slices.ContainsFunc(p.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return errs.Field(name, "setting %q must be one of %v", name, p.Enum).Say("err_setting_enum")
	}
	return nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}
