package io.replica.host.admin;

import static io.replica.host.admin.AdminApi.printable;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Reading a request body's fields: each reader names the field and what it takes when the value
 * is missing or of the wrong type, as a {@code 400} the client can act on.
 */
final class BodyFields {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private BodyFields() {}

  /** The body as a JSON object; an empty body or {@code null} counts as {@code {}}. */
  static ObjectNode object(ObjectMapper mapper, byte[] body) {
    if (body.length == 0) {
      return JSON.objectNode();
    }
    JsonNode n;
    try {
      n = mapper.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("the request body is not valid JSON ("
          + printable(e.getOriginalMessage()) + " at line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr() + "); send a JSON object");
    } catch (java.io.IOException e) {
      throw ApiException.badRequest("the request body cannot be read: " + e.getMessage());
    }
    if (n == null || n.isMissingNode() || n.isNull()) {
      return JSON.objectNode();
    }
    if (!n.isObject()) {
      throw ApiException.badRequest("the request body must be a JSON object, was "
          + n.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) n;
  }

  /** Refuses a field that is not {@code allowed}, naming it and the known fields. */
  static void onlyFields(ObjectNode body, Set<String> allowed) {
    List<String> unknown = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        unknown.add("'" + printable(f) + "'");
      }
    }
    if (!unknown.isEmpty()) {
      throw ApiException.badRequest("unknown field" + (unknown.size() > 1 ? "s " : " ")
          + String.join(", ", unknown) + " in the request body; the known fields are "
          + new TreeSet<>(allowed));
    }
  }

  static String text(ObjectNode b, String field) {
    return field(b, field, JsonNode::isTextual, "a string").asText();
  }

  static long number(ObjectNode b, String field) {
    return field(b, field, v -> v.isIntegralNumber() && v.canConvertToLong(), "a whole number")
        .asLong();
  }

  static int integer(ObjectNode b, String field) {
    return field(b, field, v -> v.isIntegralNumber() && v.canConvertToInt(),
        "a whole number within the range of a 32-bit integer").asInt();
  }

  static boolean bool(ObjectNode b, String field) {
    return field(b, field, JsonNode::isBoolean, "true or false").asBoolean();
  }

  /** The field's value if {@code fits} accepts it; otherwise a 400: it must be {@code what}. */
  private static JsonNode field(ObjectNode b, String field, Predicate<JsonNode> fits, String what) {
    JsonNode v = b.get(field);
    if (v == null || !fits.test(v)) {
      throw ApiException.badRequest("field '" + field + "' must be " + what);
    }
    return v;
  }

  static Instant instant(ObjectNode b, String field) {
    String t = text(b, field);
    try {
      return Instant.parse(t);
    } catch (DateTimeParseException e) {
      throw ApiException.badRequest("field '" + field + "' is '" + printable(t) + "'; use an"
          + " ISO-8601 UTC time such as 2026-01-01T18:30:00Z");
    }
  }}
