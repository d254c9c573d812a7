package io.replica.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses sizes such as {@code 512M}, {@code 10G}, {@code 4096} (bytes); binary units. */
final class SizeConverter implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    String v = value.trim().toUpperCase(Locale.ROOT);
    if (v.endsWith("B")) {
      v = v.substring(0, v.length() - 1);
    }
    int shift = 0;
    if (!v.isEmpty()) {
      switch (v.charAt(v.length() - 1)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: break;
      }
    }
    try {
      long n = Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1));
      if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not a size; use a positive number with K, M, G or T, e.g. 512M");
    }
  }
}
