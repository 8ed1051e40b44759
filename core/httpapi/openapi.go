package httpapi

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

var pathParam = regexp.MustCompile(`:([a-zA-Z_]+)`)

// OpenAPI builds the OpenAPI 3.1 document of every /api/v1 route, from the route table itself,
// so the document cannot forget a route.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	schemas := map[string]any{}
	for _, r := range s.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.Contains(r.Path, "*") {
			continue
		}
		p := strings.TrimPrefix(pathParam.ReplaceAllString(r.Path, "{$1}"), "/api/v1")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r.Method, r.Path),
			"tags":        []string{tag(r.Path)},
			"x-permission": map[string]any{"object": r.Perm.Object, "action": r.Perm.Action,
				"scope": map[Scope]string{TenantScope: "tenant", PlatformScope: "platform", NoTenant: "none"}[r.Perm.Scope]},
			"responses": map[string]any{
				"default": map[string]any{"description": "an error", "content": jsonContent(ref("Error"))},
			},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Body {
			op["requestBody"] = map[string]any{"required": true, "content": jsonContent(schemaRef(schemas, r.Request))}
		}
		okSchema := any(map[string]any{})
		if r.Response != nil {
			okSchema = schemaRef(schemas, r.Response)
		}
		op["responses"].(map[string]any)["2XX"] = map[string]any{"description": "success", "content": jsonContent(okSchema)}
		paths[p][strings.ToLower(r.Method)] = op
	}
	schemas["Error"] = map[string]any{"type": "object", "required": []string{"error"}, "properties": map[string]any{
		"error": map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
			"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"},
		}},
	}}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Concorde API", "version": "1",
			"description": "Citizen consultations. Every request is for the tenant of its Host header. Authenticate with a session cookie (and X-CSRF-Token on writes) or Authorization: Bearer <API token>."},
		"servers":    []any{map[string]any{"url": "/api/v1"}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}, "session": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie}}},
		"security":   []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}},
	}
}

func (s *Server) openAPIRoutes() {
	s.handle(Route{Method: fiber.MethodGet, Path: "/api/v1/openapi.json", Perm: permSite, Summary: "This document"}, func(c *fiber.Ctx) error {
		return c.JSON(s.OpenAPI())
	})
}

func jsonContent(schema any) map[string]any {
	return map[string]any{fiber.MIMEApplicationJSON: map[string]any{"schema": schema}}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func operationID(method, path string) string {
	parts := []string{strings.ToLower(method)}
	for _, seg := range strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/") {
		seg = strings.TrimPrefix(seg, ":")
		seg = strings.NewReplacer(".", "_", "-", "_").Replace(seg)
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

func tag(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")[0]
	return strings.TrimSuffix(seg, ".json")
}

// schemaRef registers the JSON Schema of v's type and returns a reference to it.
func schemaRef(schemas map[string]any, v any) any {
	return schemaOf(schemas, reflect.TypeOf(v))
}

var timeType = reflect.TypeOf(time.Time{})

func schemaOf(schemas map[string]any, t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t.Implements(reflect.TypeOf((*interface{ MarshalJSON() ([]byte, error) })(nil)).Elem()) && t.Kind() == reflect.Struct {
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}
		}
		return map[string]any{"type": "array", "items": schemaOf(schemas, t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(schemas, t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if name != "" {
			if _, ok := schemas[name]; ok {
				return ref(name)
			}
			schemas[name] = map[string]any{} // breaks cycles
		}
		props := map[string]any{}
		collectFields(schemas, t, props)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		obj := map[string]any{"type": "object", "properties": props}
		if name == "" {
			return obj
		}
		schemas[name] = obj
		return ref(name)
	}
	return map[string]any{}
}

func collectFields(schemas map[string]any, t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tagv := f.Tag.Get("json")
		if tagv == "-" {
			continue
		}
		name := strings.Split(tagv, ",")[0]
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(schemas, ft, props)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(schemas, f.Type)
	}
}
