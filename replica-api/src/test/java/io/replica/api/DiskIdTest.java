package io.replica.api;

import java.util.UUID;

class DiskIdTest extends UuidIdContract<DiskId> {
  @Override
  DiskId parse(String text) {
    return DiskId.parse(text);
  }

  @Override
  DiskId of(UUID uuid) {
    return DiskId.of(uuid);
  }

  @Override
  UUID uuid(DiskId id) {
    return id.uuid();
  }

  @Override
  String kind() {
    return "virtual disk id";
  }
}
