package io.replica.transport.netty.internal.codec;

import io.replica.api.DiskId;
import io.replica.api.VmId;
import io.replica.spi.transport.Message;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;

/** Random SPI messages for codec tests, and an equality that compares payload bytes. */
final class Messages {
  private Messages() {}

  static UUID uuid(SplittableRandom r) {
    return new UUID(r.nextLong(), r.nextLong());
  }

  static String text(SplittableRandom r) {
    int n = r.nextInt(0, 40);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      int kind = r.nextInt(4);
      s.appendCodePoint(kind == 0 ? r.nextInt(0x20, 0x7f)
          : kind == 1 ? r.nextInt(0xa0, 0x7ff) : kind == 2 ? 0x1F600 + r.nextInt(50) : 'x');
    }
    return s.toString();
  }

  static byte[] data(SplittableRandom r) {
    int n = r.nextInt(4) == 0 ? r.nextInt(0, 70_000) : r.nextInt(0, 600);
    byte[] b = new byte[n];
    if (r.nextBoolean()) {
      for (int i = 0; i < n; i++) {
        b[i] = (byte) r.nextInt(); // incompressible
      }
    } else {
      for (int i = 0; i < n; i++) {
        b[i] = (byte) (i % 7 == 0 ? r.nextInt() : 0); // compressible, disk-like
      }
    }
    return b;
  }

  static Message random(SplittableRandom r, List<VmId> vms) {
    VmId vm = vms.get(r.nextInt(vms.size()));
    switch (r.nextInt(17)) {
      case 0: {
        List<Message.DiskDescriptor> disks = new ArrayList<>();
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
          disks.add(new Message.DiskDescriptor(new DiskId(uuid(r)), r.nextLong(1, Long.MAX_VALUE),
              r.nextBoolean() ? 512 : 4096));
        }
        return new Message.EnableRequest(vm, r.nextInt(5) == 0 ? null : text(r), text(r), disks,
            r.nextInt(1, Integer.MAX_VALUE), r.nextInt(0, 25), r.nextLong(-1, Long.MAX_VALUE), r.nextBoolean());
      }
      case 1:
        return new Message.EnableResponse(vm,
            Message.EnableStatus.values()[r.nextInt(Message.EnableStatus.values().length)],
            r.nextBoolean() ? null : text(r), r.nextLong());
      case 2:
        return new Message.CycleBegin(vm, r.nextLong(), r.nextLong(),
            Instant.ofEpochSecond(r.nextLong(-1_000_000_000_000L, 1_000_000_000_000L),
                r.nextInt(1_000_000_000)),
            r.nextBoolean() ? null : io.replica.api.RecoveryPointType.values()[
                r.nextInt(io.replica.api.RecoveryPointType.values().length)], r.nextBoolean());
      case 3:
        return new Message.BlockData(vm, r.nextLong(), r.nextLong(), new DiskId(uuid(r)),
            r.nextLong(), data(r));
      case 4:
        return new Message.ZeroRun(vm, r.nextLong(), r.nextLong(), new DiskId(uuid(r)),
            r.nextLong(), r.nextLong());
      case 5:
        return new Message.CycleEnd(vm, r.nextLong(), r.nextLong(), r.nextLong(), r.nextInt());
      case 6:
        return new Message.CycleAck(vm, r.nextLong());
      case 7:
        return new Message.FailoverPrepared(vm, r.nextLong(), text(r), r.nextInt(1, 65536),
            io.replica.api.AuthenticationType.values()[r.nextInt(2)],
            java.time.Duration.ofMillis(r.nextLong(1000, 1_000_000)));
      case 8:
        return new Message.FailoverCompleted(vm, r.nextBoolean(), text(r));
      case 9:
        return new Message.HashRequest(vm, r.nextLong(), new DiskId(uuid(r)), r.nextLong(), r.nextLong(),
            r.nextInt());
      case 10: {
        byte[] hashes = new byte[16 * r.nextInt(0, 64)];
        r.nextBytes(hashes);
        return new Message.HashResponse(vm, r.nextLong(), new DiskId(uuid(r)), r.nextLong(), r.nextInt(), hashes);
      }
      case 11:
        return new Message.PowerStateQuery(vm);
      case 12:
        return new Message.PowerStateReport(vm, r.nextBoolean() ? null
            : io.replica.spi.host.PowerState.values()[r.nextInt(io.replica.spi.host.PowerState.values().length)]);
      case 13: {
        long[] ranges = new long[2 * (r.nextInt(8) == 0 ? Message.ChangedRanges.MAX_RANGES : r.nextInt(0, 40))];
        for (int i = 0; i < ranges.length; i += 2) {
          ranges[i] = r.nextLong(0, 1L << 46);
          ranges[i + 1] = r.nextLong(1, 1L << 40);
        }
        return new Message.ChangedRanges(vm, new DiskId(uuid(r)), ranges);
      }
      case 14:
        return new Message.VerifyRequest(vm, r.nextLong(), new DiskId(uuid(r)), r.nextLong(), r.nextLong(),
            r.nextInt());
      case 15: {
        byte[] hashes = new byte[16 * r.nextInt(0, 64)];
        r.nextBytes(hashes);
        return new Message.VerifyResponse(vm, r.nextLong(), new DiskId(uuid(r)), r.nextLong(), r.nextInt(),
            r.nextLong(), hashes, r.nextBoolean() ? "" : text(r));
      }
      default:
        return new Message.CycleRejected(vm, r.nextLong(), text(r), r.nextBoolean());
    }
  }

  static List<VmId> vms(SplittableRandom r) {
    List<VmId> vms = new ArrayList<>();
    int n = r.nextInt(1, 5);
    for (int i = 0; i < n; i++) {
      vms.add(new VmId(uuid(r)));
    }
    return vms;
  }

  /** Record equality, but BlockData compares its bytes. */
  static boolean same(Message a, Message b) {
    if (a instanceof Message.HashResponse && b instanceof Message.HashResponse) {
      Message.HashResponse x = (Message.HashResponse) a;
      Message.HashResponse y = (Message.HashResponse) b;
      return x.toString().equals(y.toString()) && Arrays.equals(x.hashes(), y.hashes());
    }
    if (a instanceof Message.BlockData && b instanceof Message.BlockData) {
      Message.BlockData x = (Message.BlockData) a;
      Message.BlockData y = (Message.BlockData) b;
      return x.toString().equals(y.toString()) && Arrays.equals(x.data(), y.data());
    }
    return a.equals(b);
  }
}
