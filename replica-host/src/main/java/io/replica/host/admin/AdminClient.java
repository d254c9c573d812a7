package io.replica.host.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A small blocking client of the management API over its Unix socket, for the {@code replica vm}
 * commands (the JDK's HTTP client cannot speak over Unix sockets). One connection per request;
 * answers are bounded in size.
 *
 * <pre>{@code
 * AdminClient admin = new AdminClient(Path.of("/run/replica/admin.sock"));
 * AdminClient.Response r = admin.post("/v1/vms/web01/suspend", "{}");
 * if (!r.ok()) System.err.println(r.body().path("error").asText());
 * }</pre>
 */
public final class AdminClient {
  /** Largest answer read: a list of many machines fits easily. */
  public static final int RESPONSE_BYTES_MAX = 16 << 20;

  private final Path socket;
  private final ObjectMapper mapper = new ObjectMapper();

  /** A client of the API listening on {@code socket}. */
  public AdminClient(Path socket) {
    this.socket = Objects.requireNonNull(socket, "socket");
  }

  /**
   * An answer: its HTTP status and JSON body. Errors carry {@code error} (a message for the
   * operator) and {@code kind}.
   */
  public record Response(int status, JsonNode body) {
    /** Whether the status is 2xx. */
    public boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  /** {@code GET path}, e.g. {@code /v1/vms}. */
  public Response get(String path) throws IOException {
    return exchange("GET", path, null);
  }

  /** {@code POST path} with a JSON body ({@code "{}"} for none). */
  public Response post(String path, String jsonBody) throws IOException {
    return exchange("POST", path, Objects.requireNonNull(jsonBody, "jsonBody"));
  }

  /** {@code DELETE path}. */
  public Response delete(String path) throws IOException {
    return exchange("DELETE", path, null);
  }

  /**
   * Sends one request and reads its answer.
   *
   * @param path an absolute path whose segments are already percent-encoded
   * @throws IOException if the socket cannot be reached, or the answer is not HTTP with JSON or
   *     exceeds {@link #RESPONSE_BYTES_MAX}
   */
  public Response exchange(String method, String path, @Nullable String jsonBody)
      throws IOException {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f)) {
      throw new IllegalArgumentException("request path must start with '/' and hold no spaces"
          + " or control characters (percent-encode them): " + AdminApi.printable(path));
    }
    byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
    String head = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        + (jsonBody == null ? "" : "Content-Type: application/json\r\n")
        + "Content-Length: " + body.length + "\r\n\r\n";
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
      } catch (IOException e) {
        throw new IOException("cannot reach the replication host's management API at " + socket
            + ": " + e.getMessage() + " (is `replica host` running, and are you root or in its"
            + " admin group?)", e);
      }
      ByteBuffer out = ByteBuffer.allocate(head.length() + body.length);
      out.put(head.getBytes(StandardCharsets.US_ASCII)).put(body).flip();
      try {
        while (out.hasRemaining()) {
          ch.write(out);
        }
      } catch (IOException e) {
        // The server may answer before reading the whole request (refused, too large).
        try {
          return parse(readAll(ch));
        } catch (IOException unreadable) {
          e.addSuppressed(unreadable);
          throw e;
        }
      }
      return parse(readAll(ch));
    }
  }

  private static byte[] readAll(SocketChannel ch) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    while (ch.read(buf) >= 0) {
      if (all.size() + buf.position() > RESPONSE_BYTES_MAX) {
        throw new IOException("the management API's answer is larger than "
            + RESPONSE_BYTES_MAX + " bytes; ask for less");
      }
      all.write(buf.array(), 0, buf.position());
      buf.clear();
    }
    return all.toByteArray();
  }

  private Response parse(byte[] raw) throws IOException {
    int end = -1;
    for (int i = 0; i + 3 < raw.length; i++) {
      if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
        end = i;
        break;
      }
    }
    if (end < 0) {
      throw new IOException("the management API closed the connection before a complete"
          + " answer (" + raw.length + " bytes)");
    }
    String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] status = lines[0].split(" ", 3);
    if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
      throw new IOException("the management API answered something that is not HTTP/1.1: "
          + AdminApi.printable(lines[0]));
    }
    int code;
    try {
      code = Integer.parseInt(status[1]);
    } catch (NumberFormatException e) {
      throw new IOException("the management API answered a bad status line: "
          + AdminApi.printable(lines[0]), e);
    }
    int start = end + 4;
    int length = raw.length - start;
    for (int i = 1; i < lines.length; i++) {
      String l = lines[i].toLowerCase(Locale.ROOT);
      if (l.startsWith("content-length:")) {
        try {
          length = Math.min(length, Integer.parseInt(l.substring(15).trim()));
        } catch (NumberFormatException e) {
          throw new IOException("the management API answered a bad Content-Length", e);
        }
      }
    }
    if (length <= 0) {
      return new Response(code, mapper.createObjectNode());
    }
    try {
      return new Response(code, mapper.readTree(raw, start, length));
    } catch (IOException e) {
      throw new IOException("the management API answered status " + code
          + " with a body that is not JSON", e);
    }
  }
}
