package io.replica.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.VirtualDisk;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class VirtualMachineTest {

  private static final VmId VM = VmId.of(new UUID(7, 7));
  private static final DiskId BOOT = DiskId.of(new UUID(0, 1));
  private static final DiskId DATA = DiskId.of(new UUID(0, 2));

  /** A disk that is only an identity here; any I/O is a test bug. */
  private static final class StubDisk implements VirtualDisk {
    @Override
    public long sizeBytes() {
      return 1 << 20;
    }

    @Override
    public int logicalSectorSizeBytes() {
      return 512;
    }

    @Override
    public boolean isReadOnly() {
      return true;
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) {
      throw new UnsupportedOperationException("stub disk");
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) {
      throw new UnsupportedOperationException("stub disk");
    }

    @Override
    public void flush() {
      throw new UnsupportedOperationException("stub disk");
    }

    @Override
    public List<ByteRange> allocatedRanges() {
      throw new UnsupportedOperationException("stub disk");
    }

    @Override
    public void close() {}
  }

  private static VmDisk disk(DiskId id, boolean boot) {
    return new VmDisk(id, new StubDisk(), boot);
  }

  @Test
  void machineWithDisks() {
    VmDisk boot = disk(BOOT, true);
    VmDisk data = disk(DATA, false);
    VirtualMachine vm = new VirtualMachine(VM, "web01", List.of(boot, data));
    assertEquals(VM, vm.id());
    assertEquals("web01", vm.name());
    assertEquals(List.of(boot, data), vm.disks());
    assertEquals(Optional.of(data), vm.disk(DATA));
    assertSame(boot, vm.disk(BOOT).orElseThrow());
    assertEquals(Optional.empty(), vm.disk(DiskId.of(new UUID(0, 3))));
  }

  @Test
  void noDiskRejected() {
    var e = assertThrows(IllegalArgumentException.class, () -> new VirtualMachine(VM, "web01", List.of()));
    assertTrue(e.getMessage().contains("'web01'"), e.getMessage());
    assertTrue(e.getMessage().contains(VM.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("no disk"), e.getMessage());
  }

  @Test
  void duplicateDiskIdsRejected() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new VirtualMachine(VM, "web01", List.of(disk(BOOT, true), disk(DATA, false), disk(BOOT, false))));
    assertTrue(e.getMessage().contains(BOOT.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("twice"), e.getMessage());
    assertTrue(e.getMessage().contains(VM.toString()), e.getMessage());
  }

  @Test
  void diskListIsCopiedAndImmutable() {
    List<VmDisk> disks = new ArrayList<>(List.of(disk(BOOT, true)));
    VirtualMachine vm = new VirtualMachine(VM, "web01", disks);
    disks.add(disk(DATA, false));
    assertEquals(1, vm.disks().size());
    assertThrows(UnsupportedOperationException.class, () -> vm.disks().add(disk(DATA, false)));
  }

  @Test
  void nullsRejected() {
    List<VmDisk> disks = List.of(disk(BOOT, true));
    assertThrows(NullPointerException.class, () -> new VirtualMachine(null, "web01", disks));
    assertThrows(NullPointerException.class, () -> new VirtualMachine(VM, null, disks));
    assertThrows(NullPointerException.class, () -> new VirtualMachine(VM, "web01", null));
    assertThrows(NullPointerException.class, () -> new VmDisk(null, new StubDisk(), true));
    assertThrows(NullPointerException.class, () -> new VmDisk(BOOT, null, true));
  }
}
