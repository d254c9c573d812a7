package io.replica.host.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** A status and a JSON body, what every resource of the management API answers. */
record ApiResponse(int status, JsonNode body) {
  static ApiResponse ok(JsonNode body) {
    return new ApiResponse(200, body);
  }

  static ApiResponse error(int status, String kind, String message) {
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("error", message);
    n.put("kind", kind);
    return new ApiResponse(status, n);
  }
}
