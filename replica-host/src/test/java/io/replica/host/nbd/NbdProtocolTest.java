package io.replica.host.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.DiskSpec;
import io.replica.testkit.memory.InMemoryVirtualDisk;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Negotiation, commands and hostile input, driven byte by byte from a plain socket. */
class NbdProtocolTest {
  private static final long MIB = 1024 * 1024;
  private static final long SIZE = 8 * MIB;

  @TempDir Path dir;
  InMemoryVirtualDisk disk;
  NbdServer server;
  InetSocketAddress address;

  @BeforeEach
  void start() throws IOException {
    disk = InMemoryVirtualDisk.create(new DiskSpec(SIZE, 512, 4096, false));
    server = NbdServer.builder().tcp(0).export("d", disk, false)
        .export("ro", disk.openAnotherHandle(false), true)
        .maxInFlightBytesPerConnection(2 * MIB)
        .start();
    address = server.tcpAddress().orElseThrow();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private RawClient client(String export) throws IOException {
    RawClient c = new RawClient(address).handshake();
    c.go(export);
    return c;
  }

  private static byte[] pattern(int seed, int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) (seed * 31 + i * 7 + (i >> 9));
    }
    return b;
  }

  /** Another client negotiates, writes, flushes and reads back: the server is unharmed. */
  private void assertServerStillServes() throws IOException {
    try (RawClient c = client("d")) {
      byte[] data = pattern(99, 4096);
      c.request(0, Nbd.CMD_WRITE, 1, 4096, 4096, data);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_FLUSH, 2, 0, 0);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_READ, 3, 4096, 4096);
      RawClient.Reply r = c.reply(4096);
      assertEquals(0, r.error());
      assertEquals(3, r.cookie());
      assertArrayEquals(data, r.data());
    }
  }

  @Test
  void listInfoAndGoDescribeTheExports() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_LIST, new byte[0]);
      List<String> names = new ArrayList<>();
      RawClient.OptionReply r;
      while ((r = c.optionReply()).type() == Nbd.REP_SERVER) {
        names.add(new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8));
      }
      assertEquals(Nbd.REP_ACK, r.type());
      assertEquals(List.of("d", "ro"), names);

      c.option(Nbd.OPT_INFO, RawClient.goData("ro", Nbd.INFO_NAME, Nbd.INFO_BLOCK_SIZE));
      boolean sawExport = false;
      boolean sawName = false;
      boolean sawSizes = false;
      while ((r = c.optionReply()).type() == Nbd.REP_INFO) {
        ByteBuffer b = ByteBuffer.wrap(r.data());
        switch (b.getShort()) {
          case Nbd.INFO_EXPORT:
            assertEquals(SIZE, b.getLong());
            int flags = b.getShort() & 0xffff;
            assertTrue((flags & Nbd.TF_READ_ONLY) != 0, "read-only flag");
            assertEquals(0, flags & (Nbd.TF_SEND_TRIM | Nbd.TF_SEND_WRITE_ZEROES));
            sawExport = true;
            break;
          case Nbd.INFO_NAME:
            assertEquals("ro", new String(r.data(), 2, r.data().length - 2,
                StandardCharsets.UTF_8));
            sawName = true;
            break;
          case Nbd.INFO_BLOCK_SIZE:
            assertEquals(512, b.getInt());
            assertEquals(4096, b.getInt());
            assertEquals(32 * MIB, b.getInt());
            sawSizes = true;
            break;
          default:
        }
      }
      assertEquals(Nbd.REP_ACK, r.type());
      assertTrue(sawExport && sawName && sawSizes);

      c.option(Nbd.OPT_GO, RawClient.goData("nope"));
      assertEquals(Nbd.REP_ERR_UNKNOWN, c.optionReply().type());
      c.option(4242, new byte[] {1, 2, 3});
      assertEquals(Nbd.REP_ERR_UNSUP, c.optionReply().type());
      c.option(Nbd.OPT_STARTTLS, new byte[0]);
      assertEquals(Nbd.REP_ERR_POLICY, c.optionReply().type());
      c.option(Nbd.OPT_GO, new byte[] {0, 0, 0, 9, 'x', 0});
      assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type(), "name length past the data");

      int flags = c.go("d");
      assertEquals(Nbd.TF_HAS_FLAGS | Nbd.TF_SEND_FLUSH | Nbd.TF_SEND_FUA | Nbd.TF_SEND_TRIM
          | Nbd.TF_SEND_WRITE_ZEROES | Nbd.TF_CAN_MULTI_CONN | Nbd.TF_SEND_CACHE, flags);
      c.request(0, Nbd.CMD_DISC, 9, 0, 0);
      assertTrue(c.closedByServer());
    }
  }

  @Test
  void aPeersExportNameIsEscapedInTheAnswer() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_GO, RawClient.goData("\u001b[31mevil\nname"));
      RawClient.OptionReply r = c.optionReply();
      assertEquals(Nbd.REP_ERR_UNKNOWN, r.type());
      assertTrue(r.text().contains("'\\u001b[31mevil\\u000aname'"), r.text());
    }
  }

  @Test
  void exportNameEntersTransmissionAndUnknownNameEndsTheSession() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_EXPORT_NAME, "d".getBytes(StandardCharsets.UTF_8));
      assertEquals(SIZE, c.in.readLong());
      assertTrue((c.in.readUnsignedShort() & Nbd.TF_SEND_FLUSH) != 0);
      c.request(0, Nbd.CMD_READ, 5, 0, 512);
      assertEquals(5, c.reply(512).cookie());
    }
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_EXPORT_NAME, "missing".getBytes(StandardCharsets.UTF_8));
      assertTrue(c.closedByServer());
    }
    assertServerStillServes();
  }

  @Test
  void writesWithFuaReadBackAndAreFlushed() throws IOException {
    try (RawClient c = client("d")) {
      byte[] data = pattern(1, 64 * 1024);
      c.request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 7, MIB, data.length, data);
      assertEquals(0, c.reply(0).error());
      assertFalse(disk.hasUnflushedWrites(), "FUA: durable before the reply");
      byte[] content = disk.contentSnapshot();
      assertArrayEquals(data, Arrays.copyOfRange(content, (int) MIB, (int) MIB + data.length));
      c.request(0, Nbd.CMD_READ, 8, MIB, data.length);
      assertArrayEquals(data, c.reply(data.length).data());

      c.request(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 9, MIB, 4096);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_WRITE_ZEROES, 10, MIB + 4096, 4096);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_TRIM, 11, 2 * MIB, 4096);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_CACHE, 12, 0, 4096);
      assertEquals(0, c.reply(0).error());
      c.request(0, Nbd.CMD_FLUSH, 13, 0, 0);
      assertEquals(0, c.reply(0).error());
      assertFalse(disk.hasUnflushedWrites());
      c.request(0, Nbd.CMD_READ, 14, MIB, 3 * 4096);
      byte[] back = c.reply(3 * 4096).data();
      assertArrayEquals(new byte[8192], Arrays.copyOf(back, 8192));
      assertArrayEquals(Arrays.copyOfRange(data, 8192, 3 * 4096), Arrays.copyOfRange(back,
          8192, 3 * 4096));
    }
  }

  @Test
  void structuredRepliesAndBlockStatusReportAllocation() throws IOException {
    disk.write(2 * MIB, ByteBuffer.wrap(pattern(3, 128 * 1024)));
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      c.option(Nbd.OPT_LIST_META_CONTEXT, RawClient.metaData("d", "base:"));
      RawClient.OptionReply r = c.optionReply();
      assertEquals(Nbd.REP_META_CONTEXT, r.type());
      assertEquals("base:allocation", new String(r.data(), 4, r.data().length - 4,
          StandardCharsets.US_ASCII));
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.metaData("d", "base:allocation",
          "other:thing"));
      r = c.optionReply();
      assertEquals(Nbd.REP_META_CONTEXT, r.type());
      int id = ByteBuffer.wrap(r.data()).getInt();
      assertEquals(Nbd.REP_ACK, c.optionReply().type());
      int flags = c.go("d");
      assertTrue((flags & Nbd.TF_SEND_DF) != 0);

      c.request(0, Nbd.CMD_BLOCK_STATUS, 1, MIB, 4 * MIB);
      RawClient.Reply s = c.reply(0);
      assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, s.type());
      assertEquals(Nbd.REPLY_FLAG_DONE, s.flags());
      ByteBuffer b = ByteBuffer.wrap(s.data());
      assertEquals(id, b.getInt());
      List<long[]> extents = new ArrayList<>();
      while (b.hasRemaining()) {
        extents.add(new long[] {b.getInt() & 0xffffffffL, b.getInt()});
      }
      long at = MIB;
      for (long[] x : extents) {
        boolean holeOrZero = x[1] == (Nbd.STATE_HOLE | Nbd.STATE_ZERO);
        boolean data = at < 2 * MIB + 128 * 1024 && at + x[0] > 2 * MIB;
        assertEquals(!data, holeOrZero, () -> "extent at " + x[0] + " flags " + x[1]);
        at += x[0];
      }
      assertEquals(5 * MIB, at);
      assertEquals(3, extents.size(), "hole, data, hole");

      c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 2, 0, (int) SIZE);
      s = c.reply(0);
      assertEquals(12, s.data().length, "one descriptor");

      c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 3, 2 * MIB, 4096);
      s = c.reply(0);
      assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, s.type());
      assertEquals(2 * MIB, ByteBuffer.wrap(s.data()).getLong());
      assertArrayEquals(Arrays.copyOf(pattern(3, 4096), 4096),
          Arrays.copyOfRange(s.data(), 8, 8 + 4096));

      c.request(0, Nbd.CMD_READ, 4, SIZE, 512);
      s = c.reply(0);
      assertEquals(Nbd.REPLY_TYPE_ERROR, s.type());
      assertEquals(Nbd.EINVAL, s.error());
      c.request(0, Nbd.CMD_READ, 5, 0, 33 * MIB);
      assertEquals(Nbd.EOVERFLOW, c.reply(0).error());
    }
  }

  @Test
  void blockStatusWithoutAMetaContextIsRefused() throws IOException {
    try (RawClient c = client("d")) {
      c.request(0, Nbd.CMD_BLOCK_STATUS, 1, 0, 4096);
      assertEquals(Nbd.EINVAL, c.reply(0).error());
    }
  }

  @Test
  void badRequestsGetErrorsAndTheConnectionGoesOn() throws IOException {
    try (RawClient c = client("d")) {
      c.request(0, Nbd.CMD_READ, 1, SIZE - 512, 1024);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "read past the end");
      c.request(0, Nbd.CMD_READ, 2, 0xFFFF_FFFF_FFFF_F000L, 8192);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "offset + length overflows");
      c.request(0, Nbd.CMD_WRITE, 3, SIZE, 512, new byte[512]);
      assertEquals(Nbd.ENOSPC, c.reply(0).error(), "write past the end");
      c.request(0, Nbd.CMD_WRITE_ZEROES, 4, SIZE - 512, 1024);
      assertEquals(Nbd.ENOSPC, c.reply(0).error(), "write zeroes past the end");
      c.request(0, Nbd.CMD_READ, 5, 0, 33 * MIB);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "read over the maximum payload");
      c.request(0, Nbd.CMD_READ, 6, 100, 512);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "unaligned offset");
      c.request(0, Nbd.CMD_WRITE, 7, 512, 100, new byte[100]);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "unaligned length");
      c.request(0, 99, 8, 0, 0);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "unknown command");
      c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_READ, 9, 0, 512);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "flag not valid for READ");
      c.request(0, Nbd.CMD_FLUSH, 10, 512, 0);
      assertEquals(Nbd.EINVAL, c.reply(0).error(), "flush with an offset");
      c.request(0, Nbd.CMD_READ, 11, 0, 0);
      assertEquals(0, c.reply(0).error(), "empty read");
      // Over the maximum: the payload is skipped, not kept, and the stream stays in step.
      int big = (int) (32 * MIB + 512);
      c.request(0, Nbd.CMD_WRITE, 12, 0, big, new byte[big]);
      RawClient.Reply r = c.reply(0);
      assertEquals(12, r.cookie());
      assertEquals(Nbd.EINVAL, r.error(), "write over the maximum payload");
      c.request(0, Nbd.CMD_READ, 13, 0, 512);
      r = c.reply(512);
      assertEquals(13, r.cookie());
      assertEquals(0, r.error());
    }
    assertArrayEquals(new byte[(int) SIZE], disk.contentSnapshot(), "nothing was written");
    assertServerStillServes();
  }

  @Test
  void writesToAReadOnlyExportAreRefused() throws IOException {
    try (RawClient c = client("ro")) {
      c.request(0, Nbd.CMD_WRITE, 1, 0, 512, pattern(1, 512));
      assertEquals(Nbd.EPERM, c.reply(0).error());
      c.request(0, Nbd.CMD_TRIM, 2, 0, 512);
      assertEquals(Nbd.EPERM, c.reply(0).error());
      c.request(0, Nbd.CMD_WRITE_ZEROES, 3, 0, 512);
      assertEquals(Nbd.EPERM, c.reply(0).error());
      c.request(0, Nbd.CMD_READ, 4, 0, 512);
      assertEquals(0, c.reply(512).error());
    }
    assertArrayEquals(new byte[(int) SIZE], disk.contentSnapshot());
  }

  @Test
  void badOptionMagicClosesOnlyThatConnection() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.out.writeLong(0x1122334455667788L);
      c.out.writeInt(Nbd.OPT_LIST);
      c.out.writeInt(0);
      c.out.flush();
      assertTrue(c.closedByServer());
    }
    assertServerStillServes();
  }

  @Test
  void badRequestMagicClosesOnlyThatConnection() throws IOException {
    try (RawClient other = client("d"); RawClient c = client("d")) {
      c.out.writeInt(0xdeadbeef);
      c.out.write(new byte[24]);
      c.out.flush();
      assertTrue(c.closedByServer());
      other.request(0, Nbd.CMD_READ, 1, 0, 512);
      assertEquals(0, other.reply(512).error());
    }
    assertServerStillServes();
  }

  @Test
  void unknownClientFlagsCloseTheConnection() throws IOException {
    try (RawClient c = new RawClient(address)) {
      c.in.readFully(new byte[18]);
      c.out.writeInt(0x80);
      c.out.flush();
      assertTrue(c.closedByServer());
    }
    assertServerStillServes();
  }

  @Test
  void aClientThatNeverChoosesAnExportIsClosed() throws IOException {
    try (NbdServer strict = NbdServer.builder().tcp(0).negotiationTimeout(Duration.ofMillis(200))
        .export("d", disk, false).start()) {
      try (RawClient silent = new RawClient(strict.tcpAddress().orElseThrow()).handshake()) {
        assertTrue(silent.closedByServer());
      }
      try (RawClient c = new RawClient(strict.tcpAddress().orElseThrow()).handshake()) {
        c.go("d");
        c.request(0, Nbd.CMD_READ, 1, 0, 512);
        assertEquals(0, c.reply(512).error(), "a client in transmission has no deadline");
      }
    }
  }

  @Test
  void oversizedOptionIsSkippedAndRefused() throws IOException {
    try (RawClient c = new RawClient(address).handshake()) {
      c.option(Nbd.OPT_GO, new byte[Nbd.MAX_OPTION_BYTES + 1]);
      RawClient.OptionReply r = c.optionReply();
      assertEquals(Nbd.REP_ERR_TOO_BIG, r.type());
      assertTrue(r.text().contains("over this server's limit"), r.text());
      assertEquals(Nbd.TF_HAS_FLAGS, c.go("d") & Nbd.TF_HAS_FLAGS, "negotiation goes on");
    }
    try (RawClient c = new RawClient(address).handshake()) {
      // A 4 GiB claim: the client gives up after a little; nothing of that size is allocated.
      c.out.writeLong(Nbd.IHAVEOPT);
      c.out.writeInt(Nbd.OPT_EXPORT_NAME);
      c.out.writeInt(-1);
      c.out.write(new byte[1 << 20]);
      c.out.flush();
    }
    assertServerStillServes();
  }

  @Test
  void aClientThatDisconnectsMidRequestHarmsNoOne() throws IOException {
    try (RawClient c = client("d")) {
      c.out.writeInt(Nbd.REQUEST_MAGIC);
      c.out.writeShort(0);
      c.out.writeShort(Nbd.CMD_WRITE);
      c.out.writeLong(1);
      c.out.writeLong(0);
      c.out.writeInt((int) MIB);
      c.out.write(pattern(5, 1000));
      c.out.flush();
    }
    try (RawClient c = new RawClient(address)) {
      c.in.readFully(new byte[10]); // half the greeting, then gone
    }
    assertServerStillServes();
    assertArrayEquals(new byte[4096], Arrays.copyOf(disk.contentSnapshot(), 4096));
  }

  @Test
  void manyPipelinedRequestsOverTheInFlightBoundAllComplete() throws Exception {
    // 64 MiB of writes then reads against a 2 MiB bound: the server stops and resumes reading
    // many times, and the requests left in its buffer when it pauses still get done.
    int count = 128;
    int len = 256 * 1024;
    try (RawClient c = client("d")) {
      Thread sender = new Thread(() -> {
        try {
          for (int i = 0; i < count; i++) {
            long off = (long) (i % 32) * len;
            c.request(0, Nbd.CMD_WRITE, i, off, len, pattern(i, len));
          }
          for (int i = 0; i < count; i++) {
            c.request(0, Nbd.CMD_READ, 1000 + i, (long) (i % 32) * len, len);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      sender.start();
      for (int i = 0; i < count; i++) {
        RawClient.Reply r = c.reply(0);
        assertEquals(i, r.cookie(), "replies in request order");
        assertEquals(0, r.error());
      }
      for (int i = 0; i < count; i++) {
        RawClient.Reply r = c.reply(len);
        assertEquals(1000 + i, r.cookie());
        int last = count - 32 + (i % 32);
        assertArrayEquals(pattern(last, len), r.data(), "block " + (i % 32));
      }
      sender.join();
    }
  }

  @Test
  void aClientThatSendsFasterThanTheDiskIsNotReadPastTheBound() throws Exception {
    // The disk I/O executor is held, so nothing completes: the server must stop reading at the
    // bound, or it would take in all 64 MiB the client sends.
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.ExecutorService io = java.util.concurrent.Executors
        .newSingleThreadExecutor();
    io.execute(() -> {
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    long bound = 2 * MIB;
    int len = 256 * 1024;
    int count = 256;
    try (NbdServer held = NbdServer.builder().tcp(0).ioExecutor(io)
        .maxInFlightBytesPerConnection(bound).export("d", disk, false).start();
        RawClient c = new RawClient(held.tcpAddress().orElseThrow()).handshake()) {
      c.go("d");
      java.util.concurrent.atomic.AtomicBoolean sent =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread sender = new Thread(() -> {
        try {
          byte[] data = pattern(1, len);
          for (int i = 0; i < count; i++) {
            c.request(0, Nbd.CMD_WRITE, i, (long) (i % 16) * len, len, data);
          }
          sent.set(true);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      sender.start();
      NbdConnection conn = held.connections().get(0);
      awaitCondition(() -> conn.paused() || sent.get());
      gate.countDown();
      for (int i = 0; i < count; i++) {
        assertEquals(0, c.reply(0).error());
      }
      sender.join();
      long most = conn.inFlightHighWaterBytes();
      assertTrue(most <= bound + Nbd.REQUEST_HEADER_BYTES + len,
          "at most the bound and one request in flight, was " + most);
    } finally {
      gate.countDown();
      io.shutdown();
    }
  }

  /** Waits for a condition that other threads make true; fails after a generous guard. */
  private static void awaitCondition(java.util.function.BooleanSupplier condition) {
    long guard = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > guard) {
        throw new AssertionError("condition not reached");
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  @Test
  void moreSmallPipelinedRequestsThanTheRequestBoundAllComplete() throws Exception {
    int count = 4 * NbdTransmission.MAX_IN_FLIGHT_REQUESTS + 7;
    try (RawClient c = client("d")) {
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
      java.io.DataOutputStream d = new java.io.DataOutputStream(all);
      for (int i = 0; i < count; i++) {
        d.writeInt(Nbd.REQUEST_MAGIC);
        d.writeShort(0);
        d.writeShort(i % 2 == 0 ? Nbd.CMD_FLUSH : Nbd.CMD_CACHE);
        d.writeLong(i);
        d.writeLong(0);
        d.writeInt(i % 2 == 0 ? 0 : 512);
      }
      // One burst, so the server finds far more than the bound already in its buffer.
      c.out.write(all.toByteArray());
      c.out.flush();
      for (int i = 0; i < count; i++) {
        RawClient.Reply r = c.reply(0);
        assertEquals(i, r.cookie());
        assertEquals(0, r.error());
      }
    }
  }

  @Test
  void removingAnExportClosesItsClients() throws Exception {
    try (RawClient onD = client("d"); RawClient onRo = client("ro")) {
      server.removeExport("d").get(1, TimeUnit.MINUTES);
      assertTrue(onD.closedByServer());
      assertEquals(Set.of("ro"), server.exportNames());
      onRo.request(0, Nbd.CMD_READ, 1, 0, 512);
      assertEquals(0, onRo.reply(512).error());
      try (RawClient c = new RawClient(address).handshake()) {
        c.option(Nbd.OPT_GO, RawClient.goData("d"));
        assertEquals(Nbd.REP_ERR_UNKNOWN, c.optionReply().type());
      }
      server.addExport("d", disk, false);
      assertServerStillServes();
    }
    assertThrows(IllegalStateException.class, () -> server.addExport("ro", disk, false));
  }

  @Test
  void unixSocketHasMode0660AndIsRemovedOnClose() throws Exception {
    Path sock = dir.resolve("nbd.sock");
    // A socket file left by a server that died is replaced.
    try (var stale = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      stale.bind(UnixDomainSocketAddress.of(sock));
    }
    assertTrue(Files.exists(sock));
    try (NbdServer unix = NbdServer.builder().unixSocket(sock).export("d", disk, false).start()) {
      assertEquals(PosixFilePermissions.fromString("rw-rw----"),
          Files.getPosixFilePermissions(sock));
      try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        while (greeting.hasRemaining() && ch.read(greeting) >= 0) {
          // fill
        }
        assertEquals(Nbd.NBDMAGIC, greeting.getLong(0));
      }
      IOException inUse = assertThrows(IOException.class,
          () -> NbdServer.builder().unixSocket(sock).start());
      assertTrue(inUse.getMessage().contains("another server"), inUse.getMessage());
    }
    assertFalse(Files.exists(sock));
    Path file = Files.writeString(dir.resolve("not-a-socket"), "keep me");
    IOException notSocket = assertThrows(IOException.class,
        () -> NbdServer.builder().unixSocket(file).start());
    assertTrue(notSocket.getMessage().contains("is not a socket"), notSocket.getMessage());
    assertEquals("keep me", Files.readString(file));
  }

  @Test
  void builderRefusesMisuse() {
    assertThrows(IllegalStateException.class, () -> NbdServer.builder().start());
    assertThrows(IllegalArgumentException.class,
        () -> NbdServer.builder().maxInFlightBytesPerConnection(0));
    assertThrows(IllegalArgumentException.class,
        () -> NbdServer.builder().negotiationTimeout(Duration.ZERO));
    assertThrows(IllegalStateException.class,
        () -> NbdServer.builder().export("d", disk, false).export("d", disk, true));
    assertThrows(IllegalArgumentException.class,
        () -> server.addExport("x".repeat(4097), disk, false));
  }

}
