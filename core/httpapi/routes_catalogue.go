package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/concorde-civic/concorde/core/pluginhost"
)

type catalogueList struct {
	Plugins []pluginhost.NodeStatus `json:"plugins"`
}

type installRequest struct {
	// Path is the plugin binary's path on the server's disk.
	Path string `json:"path"`
}

// catalogueRoutes are the platform admins' hands on the plugin catalogue of the running
// platform: what is installed and how it runs on this node, install or upgrade, reset a plugin
// that failed. Changes reach the other nodes through the catalogue in the database.
func (s *Server) catalogueRoutes() {
	s.handle(get, "/api/v1/platform/plugins", platform("plugins", "read"), false, func(c *fiber.Ctx) error {
		ps, err := s.Plugins.Catalogue(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(catalogueList{Plugins: ps})
	})
	s.doc(get, "/api/v1/platform/plugins", "Installed plugins: version, checksum, catalogue state and the process on this node", nil, catalogueList{})

	s.handle(post, "/api/v1/platform/plugins", platform("plugins", "create"), true, func(c *fiber.Ctx) error {
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
	s.doc(post, "/api/v1/platform/plugins", "Install a plugin binary, or upgrade to it: a running process is replaced once its calls in flight are over, on every node", installRequest{}, pluginhost.Plugin{})

	s.handle(post, "/api/v1/platform/plugins/:name/reset", platform("plugins", "update"), false, func(c *fiber.Ctx) error {
		// Cloned: the name becomes a key of the host's process map.
		p, err := s.Plugins.Reset(c.UserContext(), actor(c), strings.Clone(c.Params("name")))
		if err != nil {
			return err
		}
		return c.JSON(p)
	})
	s.doc(post, "/api/v1/platform/plugins/:name/reset", "Give a plugin that failed for good another start, on every node", nil, pluginhost.Plugin{})
}
