package io.replica.spi.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DiskSpecTest {

  @ParameterizedTest
  @CsvSource({"512, 512, 512", "512, 512, 4096", "4096, 4096, 4096", "1048576, 512, 4096",
      "8192, 4096, 4096", "9223372036854775296, 512, 512"})
  void validGeometries(long size, int logical, int physical) {
    DiskSpec spec = new DiskSpec(size, logical, physical, true);
    assertEquals(size, spec.sizeBytes());
    assertEquals(logical, spec.logicalSectorSizeBytes());
    assertEquals(physical, spec.physicalSectorSizeBytes());
    assertTrue(spec.fixed());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 256, 1024, 2048, 520, 8192, -512})
  void unsupportedLogicalSectorRejected(int logical) {
    var e = assertThrows(IllegalArgumentException.class, () -> new DiskSpec(1 << 20, logical, 4096, false));
    assertTrue(e.getMessage().contains("logical sector size " + logical), e.getMessage());
    assertTrue(e.getMessage().contains("512 or 4096"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 256, 1024, 2048, 8192, -4096})
  void unsupportedPhysicalSectorRejected(int physical) {
    var e = assertThrows(IllegalArgumentException.class, () -> new DiskSpec(1 << 20, 512, physical, false));
    assertTrue(e.getMessage().contains("physical sector size " + physical), e.getMessage());
  }

  @Test
  void physicalSmallerThanLogicalRejected() {
    var e = assertThrows(IllegalArgumentException.class, () -> new DiskSpec(1 << 20, 4096, 512, false));
    assertTrue(e.getMessage().contains("physical sector size 512"), e.getMessage());
    assertTrue(e.getMessage().contains("not smaller than the logical sector size 4096"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource({"0, 512", "-512, 512", "511, 512", "513, 512", "1000, 512", "512, 4096", "6144, 4096",
      "-9223372036854775808, 512"})
  void sizeMustBeAPositiveMultipleOfTheLogicalSector(long size, int logical) {
    var e = assertThrows(IllegalArgumentException.class, () -> new DiskSpec(size, logical, 4096, false));
    assertTrue(e.getMessage().contains("disk size " + size + " bytes"), e.getMessage());
    assertTrue(e.getMessage().contains("logical sector size " + logical), e.getMessage());
  }

  @Test
  void dynamic() {
    DiskSpec spec = DiskSpec.dynamic(10L << 30);
    assertEquals(new DiskSpec(10L << 30, 512, 4096, false), spec);
    assertFalse(spec.fixed());
    assertThrows(IllegalArgumentException.class, () -> DiskSpec.dynamic(0));
    assertThrows(IllegalArgumentException.class, () -> DiskSpec.dynamic(1000));
  }

  @Test
  void withSizeKeepsGeometryAndChecksTheNewSize() {
    DiskSpec spec = new DiskSpec(8192, 4096, 4096, true);
    assertEquals(new DiskSpec(1 << 20, 4096, 4096, true), spec.withSize(1 << 20));
    assertThrows(IllegalArgumentException.class, () -> spec.withSize(512));
    assertThrows(IllegalArgumentException.class, () -> spec.withSize(0));
  }
}
