package io.replica.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.replica.spi.storage.ByteRange;
import io.replica.spi.storage.DiskSpec;
import io.replica.storage.vhdx.DiskConverter;
import io.replica.storage.vhdx.DiskConverter.Format;
import io.replica.storage.vhdx.VhdxCheck;
import io.replica.storage.vhdx.VhdxDisk;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code replica disk}: create, inspect, check, convert and compare VHDX (and raw) disk files.
 * Exit status: 0 success, 1 failure (or a difference, or a problem found), 2 usage error.
 */
@Command(name = "disk", mixinStandardHelpOptions = true,
    description = "Create, inspect, check, convert and compare VHDX and raw disk files.",
    subcommands = {DiskCommand.Create.class, DiskCommand.Info.class, DiskCommand.Check.class,
        DiskCommand.Convert.class, DiskCommand.Compare.class})
final class DiskCommand implements Callable<Integer> {

  private static final int CHUNK = 4 * 1024 * 1024;

  /** Built on first use: creating a mapper costs about 0.2 s, which every other command saves. */
  private static final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();
  }

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  static boolean isVhdx(Path p) {
    return Format.ofFileName(p) == Format.VHDX;
  }

  static String human(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** An existing file is VHDX if it says so in its first bytes, whatever its name. */
  static boolean holdsVhdx(Path p) throws IOException {
    return DiskConverter.isVhdxFile(p);
  }

  /**
   * Why {@code p} cannot be read as a disk file, in the words of {@code replica disk COMMAND}, or
   * null if it is a file: a folder is named as such, since "no such file" would send the operator
   * looking for something that is there.
   */
  static String notAFile(String command, Path p) {
    if (Files.isDirectory(p)) {
      return "disk " + command + ": '" + p + "' is a folder, not a disk file (name a .vhdx, .avhdx"
          + " or raw file)";
    }
    if (!Files.isRegularFile(p)) {
      return "disk " + command + ": '" + p + "': no such file";
    }
    return null;
  }

  static int fail(CommandSpec spec, String command, Exception e) {
    String message = e instanceof NoSuchFileException
        ? e.getMessage() + ": no such file" : e.getMessage();
    spec.commandLine().getErr().println("disk " + command + ": " + message);
    return 1;
  }

  /** {@code replica disk create}. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a dynamic, fixed or differencing VHDX file.")
  static final class Create implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The VHDX file to create.")
    Path file;

    @Option(names = "--size", converter = SizeConverter.class,
        description = "Virtual size, e.g. 10G or 512M (required unless --parent).")
    Long size;

    @Option(names = "--fixed", description = "Allocate every block now.")
    boolean fixed;

    @Option(names = "--block-size", converter = SizeConverter.class,
        description = "Block size, a power of two from 1M to 256M (default: 32M).")
    Long blockSize;

    @Option(names = "--logical-sector", description = "512 or 4096 (default: ${DEFAULT-VALUE}).")
    int logicalSector = 512;

    @Option(names = "--parent", description = "Create a differencing child of this VHDX file.")
    Path parent;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      if (parent != null && (size != null || fixed || blockSize != null)) {
        err.println("disk create: a child takes its size and geometry from --parent; drop"
            + " --size, --fixed and --block-size");
        return 2;
      }
      if (parent == null && size == null) {
        err.println("disk create: --size is required (e.g. --size 10G)");
        return 2;
      }
      if (logicalSector != 512 && logicalSector != 4096) {
        err.println("disk create: --logical-sector must be 512 or 4096, not " + logicalSector);
        return 2;
      }
      if (!isVhdx(file)) {
        err.println("disk create: '" + file + "' must end in .vhdx or .avhdx");
        return 2;
      }
      long bs = blockSize == null ? VhdxDisk.DEFAULT_BLOCK_SIZE_BYTES : blockSize;
      if (parent == null && (Long.bitCount(bs) != 1 || bs < (1 << 20) || bs > (256L << 20))) {
        err.println("disk create: --block-size must be a power of two from 1M to 256M");
        return 2;
      }
      if (parent == null && (size % logicalSector != 0 || size > (64L << 40))) {
        err.println("disk create: --size must be a multiple of " + logicalSector
            + " bytes and at most 64T");
        return 2;
      }
      try (VhdxDisk d = parent != null ? VhdxDisk.createChild(file, parent)
          : VhdxDisk.create(file, new DiskSpec(size, logicalSector, 4096, fixed), bs)) {
        spec.commandLine().getOut().println("Created " + file + ": "
            + (parent != null ? "differencing child of " + parent : fixed ? "fixed" : "dynamic")
            + ", " + human(d.sizeBytes()) + ", " + human(d.blockSizeBytes()) + " blocks, "
            + d.logicalSectorSizeBytes() + "-byte sectors");
        return 0;
      } catch (IOException | RuntimeException e) {
        return fail(spec, "create", e);
      }
    }
  }

  /** {@code replica disk info}. */
  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "Show format, sizes, allocation and parent chain of a disk file.")
  static final class Info implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean asJson;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      String notAFile = notAFile("info", file);
      if (notAFile != null) {
        spec.commandLine().getErr().println(notAFile);
        return 2;
      }
      try {
        long fileSize = Files.size(file);
        if (!holdsVhdx(file)) {
          if (asJson) {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("file", file.toString());
            info.put("format", "raw");
            info.put("virtualSizeBytes", fileSize);
            info.put("fileSizeBytes", fileSize);
            out.println(Json.MAPPER.writeValueAsString(info));
          } else {
            out.println("file: " + file + "\nformat: raw\nvirtual size: " + human(fileSize)
                + " (" + fileSize + " bytes)");
          }
          return 0;
        }
        try (VhdxDisk d = VhdxDisk.open(file, true)) {
          long allocated = 0;
          for (ByteRange r : d.allocatedRanges()) {
            allocated += r.lengthBytes();
          }
          String type = d.parentPath().isPresent() ? "differencing"
              : d.isFixed() ? "fixed" : "dynamic";
          List<String> chain = new ArrayList<>();
          for (Path p : d.chain()) {
            chain.add(p.toString());
          }
          if (asJson) {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("file", file.toString());
            info.put("format", "vhdx");
            info.put("type", type);
            info.put("virtualSizeBytes", d.sizeBytes());
            info.put("blockSizeBytes", d.blockSizeBytes());
            info.put("logicalSectorSizeBytes", d.logicalSectorSizeBytes());
            info.put("physicalSectorSizeBytes", d.physicalSectorSizeBytes());
            info.put("allocatedBytes", allocated);
            info.put("fileSizeBytes", fileSize);
            info.put("parentChain", chain.subList(1, chain.size()));
            out.println(Json.MAPPER.writeValueAsString(info));
          } else {
            out.println("file: " + file);
            out.println("format: vhdx (" + type + ")");
            out.println("virtual size: " + human(d.sizeBytes()) + " (" + d.sizeBytes()
                + " bytes)");
            out.println("block size: " + human(d.blockSizeBytes()));
            out.println("sector size: " + d.logicalSectorSizeBytes() + " logical, "
                + d.physicalSectorSizeBytes() + " physical");
            out.println("allocated: " + human(allocated) + " (" + allocated + " bytes)");
            out.println("file size: " + human(fileSize));
            for (int i = 1; i < chain.size(); i++) {
              out.println("parent " + i + ": " + chain.get(i));
            }
          }
        }
        return 0;
      } catch (IOException | RuntimeException e) {
        return fail(spec, "info", e);
      }
    }
  }

  /** {@code replica disk check}. */
  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Check a VHDX file's structure and checksums; exit 0 if sound, 1 if not.")
  static final class Check implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      String notAFile = notAFile("check", file);
      if (notAFile != null) {
        spec.commandLine().getErr().println(notAFile);
        return 2;
      }
      try {
        List<String> problems = VhdxCheck.check(file);
        if (problems.isEmpty()) {
          out.println("No errors were found in " + file + ".");
          return 0;
        }
        out.println(problems.size() + " problem(s) in " + file + ":");
        for (String p : problems) {
          out.println("  " + p);
        }
        return 1;
      } catch (IOException | RuntimeException e) {
        return fail(spec, "check", e);
      }
    }
  }

  /** {@code replica disk convert}. */
  @Command(name = "convert", mixinStandardHelpOptions = true,
      description = "Copy a disk between raw and VHDX (by extension or --to), skipping zeros.")
  static final class Convert implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOURCE")
    Path source;

    @Parameters(index = "1", paramLabel = "TARGET")
    Path target;

    @Option(names = "--to", description = "raw or vhdx (default: from TARGET's extension).")
    String to;

    @Option(names = "--block-size", converter = SizeConverter.class,
        description = "Block size of a VHDX target (default: the source's, else 32M).")
    Long blockSize;

    @Option(names = "--force", description = "Overwrite TARGET if it exists (a file or a device).")
    boolean force;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      boolean toVhdx;
      if (to == null) {
        toVhdx = isVhdx(target);
      } else if (to.equalsIgnoreCase("raw") || to.equalsIgnoreCase("vhdx")) {
        toVhdx = to.equalsIgnoreCase("vhdx");
      } else {
        err.println("disk convert: --to must be raw or vhdx, not '" + to + "'");
        return 2;
      }
      String notAFile = notAFile("convert", source);
      if (notAFile != null) {
        err.println(notAFile);
        return 2;
      }
      if (Files.isDirectory(target)) {
        err.println("disk convert: TARGET '" + target + "' is a folder; name a file in it, e.g. '"
            + target.resolve(source.getFileName()) + "'");
        return 2;
      }
      try {
        if (Files.exists(target) && Files.isSameFile(source, target)) {
          err.println("disk convert: SOURCE and TARGET are the same file");
          return 2;
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !force) {
          err.println("disk convert: TARGET '" + target + "' exists; pass --force to overwrite it"
              + " (its content is lost), or name a new file");
          return 2;
        }
        convert(toVhdx);
        return 0;
      } catch (IOException | RuntimeException e) {
        return fail(spec, "convert", e);
      }
    }

    private void convert(boolean toVhdx) throws IOException {
      DiskConverter converter = DiskConverter.to(toVhdx ? Format.VHDX : Format.RAW)
          .replacingExisting(force);
      if (toVhdx && blockSize != null) {
        converter = converter.withBlockSizeBytes(blockSize);
      }
      boolean progress = System.console() != null;
      if (progress) {
        converter = converter.withProgress(new Bar());
      }
      converter.convert(source, target);
      if (progress) {
        System.err.println();
      }
    }

    /** A bar on the terminal that moves by whole percents. */
    private static final class Bar implements DiskConverter.Progress {
      private int shown = -1;

      @Override
      public void update(long doneBytes, long totalBytes) {
        if (totalBytes <= 0) {
          return;
        }
        int pct = (int) (doneBytes * 100 / totalBytes);
        if (pct != shown) {
          shown = pct;
          int bar = pct / 2;
          System.err.print("\rconverting [" + "#".repeat(bar) + " ".repeat(50 - bar) + "] " + pct
              + "%");
          System.err.flush();
        }
      }
    }
  }

  /** {@code replica disk compare}. */
  @Command(name = "compare", mixinStandardHelpOptions = true,
      description = "Compare the contents of two disk files; exit 0 if equal, 1 if not.")
  static final class Compare implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "A")
    Path a;

    @Parameters(index = "1", paramLabel = "B")
    Path b;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      for (Path p : List.of(a, b)) {
        String notAFile = notAFile("compare", p);
        if (notAFile != null) {
          spec.commandLine().getErr().println(notAFile);
          return 2;
        }
      }
      try (DiskConverter.Source x = DiskConverter.Source.open(a); DiskConverter.Source y = DiskConverter.Source.open(b)) {
        long common = Math.min(x.size(), y.size());
        long diff = firstDifference(x, y, common);
        if (diff < 0 && x.size() != y.size()) {
          DiskConverter.Source longer = x.size() > y.size() ? x : y;
          diff = firstNonZero(longer, common, longer.size());
        }
        if (diff >= 0) {
          out.println("Content mismatch at offset " + diff + "!");
          return 1;
        }
        out.println("Images are identical.");
        return 0;
      } catch (IOException | RuntimeException e) {
        return fail(spec, "compare", e);
      }
    }

    private static long firstDifference(DiskConverter.Source x, DiskConverter.Source y, long end) throws IOException {
      List<ByteRange> ranges = union(x.ranges(), y.ranges(), end);
      ByteBuffer bx = ByteBuffer.allocate(CHUNK);
      ByteBuffer by = ByteBuffer.allocate(CHUNK);
      for (ByteRange r : ranges) {
        for (long at = r.offsetBytes(); at < r.endBytes(); at += CHUNK) {
          int n = (int) Math.min(CHUNK, r.endBytes() - at);
          int aligned = (int) Math.min((n + 511) / 512 * 512, CHUNK);
          readPadded(x, at, bx, aligned);
          readPadded(y, at, by, aligned);
          int m = Arrays.mismatch(bx.array(), 0, n, by.array(), 0, n);
          if (m >= 0) {
            return at + m;
          }
        }
      }
      return -1;
    }

    private static long firstNonZero(DiskConverter.Source x, long from, long to) throws IOException {
      ByteBuffer bx = ByteBuffer.allocate(CHUNK);
      for (ByteRange r : union(x.ranges(), List.of(), to)) {
        long start = Math.max(r.offsetBytes(), from);
        for (long at = start; at < r.endBytes(); at += CHUNK) {
          int n = (int) Math.min(CHUNK, r.endBytes() - at);
          readPadded(x, at, bx, (n + 511) / 512 * 512);
          for (int i = 0; i < n; i++) {
            if (bx.array()[i] != 0) {
              return at + i;
            }
          }
        }
      }
      return -1;
    }

    private static void readPadded(DiskConverter.Source img, long at, ByteBuffer buf, int length)
        throws IOException {
      buf.clear();
      long avail = Math.max(0, Math.min(length, img.size() - at));
      Arrays.fill(buf.array(), 0, length, (byte) 0);
      if (avail > 0) {
        int aligned = (int) Math.min(length, (avail + 511) / 512 * 512);
        buf.limit(aligned);
        img.read(at, buf);
      }
    }

    private static List<ByteRange> union(List<ByteRange> p, List<ByteRange> q, long end) {
      List<ByteRange> all = new ArrayList<>(p);
      all.addAll(q);
      all.sort(Comparator.comparingLong(ByteRange::offsetBytes));
      List<ByteRange> out = new ArrayList<>();
      long s = -1;
      long e = -1;
      for (ByteRange r : all) {
        long rs = r.offsetBytes();
        long re = Math.min(r.endBytes(), end);
        if (re <= rs) {
          continue;
        }
        if (s >= 0 && rs <= e) {
          e = Math.max(e, re);
        } else {
          if (s >= 0) {
            out.add(new ByteRange(s, e - s));
          }
          s = rs;
          e = re;
        }
      }
      if (s >= 0) {
        out.add(new ByteRange(s, e - s));
      }
      return out;
    }
  }
}
