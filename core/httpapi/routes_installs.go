package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/pluginhost"
)

type installedList struct {
	Plugins []pluginhost.NodeStatus `json:"plugins"`
}

type installRequest struct {
	// Path is the plugin binary's path on the server's disk.
	Path string `json:"path"`
}

// installRoutes are the platform admins' hands on the plugin catalogue of the running
// platform: what is installed and how it runs on this node, install or upgrade, reset a plugin
// that failed. Changes reach the other nodes through the catalogue in the database.
func (s *Server) installRoutes() {
	s.handle(Route{Method: get, Path: "/api/v1/platform/plugins", Perm: platform("plugins", "read"), Summary: "Installed plugins: version, checksum, catalogue state and the process on this node", Response: installedList{}}, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.Installed(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(installedList{Plugins: ps})
	})

	s.handle(Route{Method: post, Path: "/api/v1/platform/plugins", Perm: platform("plugins", "create"), Summary: "Install a plugin binary, or upgrade to it: a running process is replaced once its calls in flight are over, on every node", Request: installRequest{}, Response: pluginhost.Plugin{}}, func(c *fiber.Ctx) error {
		var in installRequest
		if err := decode(c, &in); err != nil {
			return err
		}
		p, err := s.Plugins.Install(c.UserContext(), actor(c), in.Path)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(p)
	})

	s.handle(Route{Method: post, Path: "/api/v1/platform/plugins/:name/reset", Perm: platform("plugins", "update"), Summary: "Give a plugin that failed for good another start, on every node", Response: pluginhost.Plugin{}}, func(c *fiber.Ctx) error {
		// Cloned: the name becomes a key of the host's process map.
		p, err := s.Plugins.Reset(c.UserContext(), actor(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
}
