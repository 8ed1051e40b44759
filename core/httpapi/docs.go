package httpapi

import (
	"github.com/concorde-civic/concorde/core/identity"
)

// The bodies of the foundation's routes (tenants, users, tokens), named for the OpenAPI
// document's schemas.

type hostRequest struct {
	Host string `json:"host"`
}

type roleRequest struct {
	Role string `json:"role"`
}

type tokenRequest struct {
	Name   string `json:"name"`
	UserID int64  `json:"user_id"`
}

type tokenCreated struct {
	Token string         `json:"token"`
	Info  identity.Token `json:"info"`
	Note  string         `json:"note"`
}
