package io.replica.host.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A hand-driven NBD client on a plain socket, to send what real clients never would. */
final class RawClient implements Closeable {
  record OptionReply(int option, int type, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  record Reply(int magic, int error, long cookie, int flags, int type, byte[] data) {}

  static final int GUARD_MILLIS = 120_000;

  final Socket socket;
  final DataInputStream in;
  final DataOutputStream out;
  boolean structured;

  RawClient(InetSocketAddress address) throws IOException {
    socket = new Socket(address.getAddress(), address.getPort());
    // A guard so that a server that never answers fails the test instead of hanging it.
    socket.setSoTimeout(GUARD_MILLIS);
    in = new DataInputStream(socket.getInputStream());
    out = new DataOutputStream(socket.getOutputStream());
  }

  /** Reads the greeting and answers fixed newstyle with no zeroes. */
  RawClient handshake() throws IOException {
    assertEquals(Nbd.NBDMAGIC, in.readLong());
    assertEquals(Nbd.IHAVEOPT, in.readLong());
    assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, in.readUnsignedShort());
    out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    return this;
  }

  void option(int option, byte[] data) throws IOException {
    out.writeLong(Nbd.IHAVEOPT);
    out.writeInt(option);
    out.writeInt(data.length);
    out.write(data);
    out.flush();
  }

  OptionReply optionReply() throws IOException {
    assertEquals(Nbd.OPTION_REPLY_MAGIC, in.readLong());
    int option = in.readInt();
    int type = in.readInt();
    int length = in.readInt();
    byte[] data = new byte[length];
    in.readFully(data);
    return new OptionReply(option, type, data);
  }

  static byte[] goData(String name, int... infos) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
    b.putInt(n.length).put(n).putShort((short) infos.length);
    for (int i : infos) {
      b.putShort((short) i);
    }
    return b.array();
  }

  static byte[] metaData(String name, String... queries) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (DataOutputStream d = new DataOutputStream(bytes)) {
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      d.writeInt(n.length);
      d.write(n);
      d.writeInt(queries.length);
      for (String q : queries) {
        byte[] qb = q.getBytes(StandardCharsets.UTF_8);
        d.writeInt(qb.length);
        d.write(qb);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return bytes.toByteArray();
  }

  /** Sends NBD_OPT_GO and reads replies up to the ACK; returns the transmission flags. */
  int go(String name) throws IOException {
    option(Nbd.OPT_GO, goData(name, Nbd.INFO_BLOCK_SIZE));
    int flags = -1;
    while (true) {
      OptionReply r = optionReply();
      if (r.type() == Nbd.REP_ACK) {
        return flags;
      }
      assertEquals(Nbd.REP_INFO, r.type(), () -> "GO failed: " + Integer.toHexString(r.type())
          + " " + r.text());
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
      if (b.getShort() == Nbd.INFO_EXPORT) {
        b.getLong();
        flags = b.getShort() & 0xffff;
      }
    }
  }

  void request(int flags, int type, long cookie, long offset, long length) throws IOException {
    request(flags, type, cookie, offset, length, null);
  }

  void request(int flags, int type, long cookie, long offset, long length, byte[] payload)
      throws IOException {
    out.writeInt(Nbd.REQUEST_MAGIC);
    out.writeShort(flags);
    out.writeShort(type);
    out.writeLong(cookie);
    out.writeLong(offset);
    out.writeInt((int) length);
    if (payload != null) {
      out.write(payload);
    }
    out.flush();
  }

  /** Reads one reply; for a simple reply to a read, {@code readLength} bytes of data follow. */
  Reply reply(int readLength) throws IOException {
    int magic = in.readInt();
    if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
      int error = in.readInt();
      long cookie = in.readLong();
      byte[] data = new byte[error == 0 ? readLength : 0];
      in.readFully(data);
      return new Reply(magic, error, cookie, 0, 0, data);
    }
    assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic, "reply magic");
    int flags = in.readUnsignedShort();
    int type = in.readUnsignedShort();
    long cookie = in.readLong();
    int length = in.readInt();
    byte[] data = new byte[length];
    in.readFully(data);
    int error = 0;
    if ((type & 0x8000) != 0) {
      error = java.nio.ByteBuffer.wrap(data).getInt();
    }
    return new Reply(magic, error, cookie, flags, type, data);
  }

  /** True once the server has closed the connection. */
  boolean closedByServer() throws IOException {
    try {
      while (in.read() >= 0) {
        // drain what was still in flight
      }
      return true;
    } catch (EOFException | java.net.SocketException e) {
      return true;
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
