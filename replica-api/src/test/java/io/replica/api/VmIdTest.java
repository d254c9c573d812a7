package io.replica.api;

import java.util.UUID;

class VmIdTest extends UuidIdContract<VmId> {
  @Override
  VmId parse(String text) {
    return VmId.parse(text);
  }

  @Override
  VmId of(UUID uuid) {
    return VmId.of(uuid);
  }

  @Override
  UUID uuid(VmId id) {
    return id.uuid();
  }

  @Override
  String kind() {
    return "virtual machine id";
  }
}
