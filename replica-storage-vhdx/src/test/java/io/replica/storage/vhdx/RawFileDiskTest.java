package io.replica.storage.vhdx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RawFileDiskTest {
  @TempDir Path dir;

  @Test
  void anImageThatIsNotWholeSectorsIsRefusedWithTheFix() throws Exception {
    Path odd = Files.write(dir.resolve("odd.img"), new byte[1000]);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RawFileDisk.open(odd, 512, false));
    assertTrue(e.getMessage().contains("1000 bytes long") && e.getMessage().contains("qemu-img resize"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> RawFileDisk.open(odd, 1024, false));
    assertThrows(IllegalArgumentException.class, () -> RawFileDisk.open(Files.write(dir.resolve("empty.img"), new byte[0]), 512, false));
  }

  @Test
  void theFileHoldsTheDisksBytesAsQemuSeesThem() throws Exception {
    Path img = dir.resolve("d.img");
    byte[] data = new byte[4096];
    java.util.Arrays.fill(data, (byte) 0x5a);
    try (RawFileDisk d = RawFileDisk.create(img, io.replica.spi.storage.DiskSpec.dynamic(1 << 20))) {
      d.write(8192, ByteBuffer.wrap(data));
      d.flush();
    }
    byte[] file = Files.readAllBytes(img);
    assertEquals(1 << 20, file.length);
    assertArrayEquals(data, java.util.Arrays.copyOfRange(file, 8192, 8192 + 4096));
    if (Tools.available("qemu-img")) {
      String info = Tools.ok("qemu-img", "info", "-f", "raw", "--output=json", img.toString());
      assertTrue(info.contains("\"virtual-size\": 1048576"), info);
    }
  }
}
