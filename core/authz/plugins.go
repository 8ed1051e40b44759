package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/concorde-civic/concorde/core/errs"
)

// AddPermission lets role do act on obj in dom (a tenant's Domain, or AllDomains). This is how
// the permissions plugins declare reach Casbin. Adding a permission held already changes
// nothing. Auditors change nothing, so they may only be given Read.
func (a *Authorizer) AddPermission(ctx context.Context, role Role, dom, obj, act string) error {
	rule, err := permissionRule(role, dom, obj, act)
	if err != nil {
		return err
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	e := a.enforcer.Load()
	if e != nil {
		if ok, err := e.HasPolicy(rule); err != nil || ok {
			return err
		}
	}
	if err := a.adapter.AddPolicyCtx(ctx, "p", "p", rule); err != nil {
		return fmt.Errorf("add permission %v: %w", rule, err)
	}
	if e != nil {
		a.wrote()
		if _, err := e.AddPolicy(rule); err != nil {
			return fmt.Errorf("add permission %v: %w", rule, err)
		}
	}
	a.forget()
	return nil
}

// RemovePermission takes back a permission given with AddPermission in dom.
func (a *Authorizer) RemovePermission(ctx context.Context, role Role, dom, obj, act string) error {
	rule, err := permissionRule(role, dom, obj, act)
	if err != nil {
		return err
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := a.adapter.RemovePolicyCtx(ctx, "p", "p", rule); err != nil {
		return fmt.Errorf("remove permission %v: %w", rule, err)
	}
	if e := a.enforcer.Load(); e != nil {
		a.wrote()
		if _, err := e.RemovePolicy(rule); err != nil {
			return fmt.Errorf("remove permission %v: %w", rule, err)
		}
	}
	a.forget()
	return nil
}

// RolesWith lists the roles given act on obj in dom, counting AllDomains.
func (a *Authorizer) RolesWith(dom, obj, act string) []Role {
	e, err := a.policy(context.Background())
	if err != nil {
		return nil
	}
	rules, err := e.GetFilteredPolicy(2, obj, act)
	if err != nil {
		return nil
	}
	var rs []Role
	for _, r := range rules {
		if len(r) == 4 && (r[1] == dom || r[1] == AllDomains) {
			if role, ok := roleOf(r[0]); ok {
				rs = append(rs, role)
			}
		}
	}
	return rs
}

func permissionRule(role Role, dom, obj, act string) ([]string, error) {
	if role != Anonymous {
		if _, err := ParseRole(string(role)); err != nil {
			return nil, err
		}
	}
	if role == Auditor && act != Read {
		return nil, errs.Field("role", "auditors change nothing: they can only be given %q", Read)
	}
	if !validDomain(dom) {
		return nil, errs.Field("domain", "domain %q is neither a tenant ID nor %q", dom, AllDomains)
	}
	switch {
	case obj == "" || obj == Any || strings.TrimSpace(obj) != obj:
		return nil, errs.Field("object", "object %q must be a name", obj)
	case act != Read && act != Create && act != Update && act != Delete:
		return nil, errs.Field("action", "action %q must be read, create, update or delete", act)
	}
	return []string{roleSubject(role), dom, obj, act}, nil
}
