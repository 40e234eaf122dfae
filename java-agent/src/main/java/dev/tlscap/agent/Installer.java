// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.agent;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.InvocationTargetException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.lang.instrument.ClassDefinition;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.pool.TypePool;

/**
 * Runs in the agent's own class loader ({@link TlscapAgent}). The first time: opens java.base's
 * sun.security.ssl to this loader, defines {@code TlscapKeyLog} in that package (JSSE's class
 * loader and module), and puts Byte Buddy advice that calls it into JSSE's three secret
 * derivations (see {@link #patchJsse}). Every time: points the key log at the socket of the tlscap that attached.
 *
 * <p>Argument: {@code socket=<path>} (in this process's root), then {@code ,hello=<text>}.
 */
public final class Installer {
  static final String JSSE = "sun.security.ssl.";
  static final String KEY_LOG = JSSE + "TlscapKeyLog";
  static final String[] INJECTED = {KEY_LOG, KEY_LOG + "$Sender"};
  /** Byte Buddy's switch (relocated with it) that keeps it off sun.misc.Unsafe: JDK 24+ warns on the program's stderr. */
  static final String SAFE = "dev.tlscap.agent.shaded.bytebuddy.safe";

  private Installer() {
  }

  /**
   * Never throws: a failure is sent to tlscap ({@code # error ...} on the socket) rather than
   * printed into the program's output by the JVM.
   */
  public static synchronized void agentmain(String args, Instrumentation inst) {
    Map<String, String> options = options(args);
    String socket = options.get("socket");
    String hello = "# tlscap-agent " + options.getOrDefault("hello", "");
    System.setProperty(SAFE, "true");
    try {
      Class<?> keyLog = keyLog(inst);
      if (!(Boolean) keyLog.getMethod("installed").invoke(null)) {
        int redefined = patchJsse(inst);
        keyLog.getMethod("markInstalled").invoke(null);
        hello += " redefined " + redefined;
      }
      keyLog.getMethod("connect", String.class, String.class).invoke(null, socket,
          hello + " java " + System.getProperty("java.version"));
    } catch (Throwable e) {
      failed(socket, e instanceof InvocationTargetException && e.getCause() != null ? e.getCause() : e);
    } finally {
      System.clearProperty(SAFE); // read once, by Byte Buddy's first use; the program does not see it
    }
  }

  private static void failed(String socket, Throwable e) {
    if (socket == null) {
      return;
    }
    String line = "# error " + e.getClass().getName() + ": " + String.valueOf(e.getMessage()).replace('\n', ' ') + "\n";
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      channel.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
    } catch (IOException | RuntimeException ignored) {
      // tlscap is gone too: it reports the agent as silent
    }
  }

  /** TlscapKeyLog in java.base: there already (an earlier tlscap), or defined now. */
  private static Class<?> keyLog(Instrumentation inst) throws Exception {
    Module javaBase = Object.class.getModule();
    inst.redefineModule(javaBase, Set.of(), Map.of(), Map.of("sun.security.ssl", Set.of(Installer.class.getModule())),
        Set.of(), Map.of());
    try {
      return Class.forName(KEY_LOG, false, null);
    } catch (ClassNotFoundException notYet) {
      // a Lookup in JSSE's package, anchored on a class that is not patched (loading this one is harmless;
      // loading a patched one now would make it a class in use, redefined at a cost)
      MethodHandles.Lookup jsse = MethodHandles.privateLookupIn(
          Class.forName(JSSE + "ProtocolVersion", false, null), MethodHandles.lookup());
      for (String name : INJECTED) {
        try (InputStream in = Installer.class.getClassLoader().getResourceAsStream(name.replace('.', '/') + ".class")) {
          if (in == null) {
            throw new IOException("tlscap agent: " + name + " missing from the agent jar");
          }
          jsse.defineClass(in.readAllBytes()); // the JDK's own way into a package opened to us
        }
      }
      return Class.forName(KEY_LOG, true, null);
    }
  }

  /**
   * Puts the advice into JSSE's two classes (Byte Buddy inlines it into their class files, read
   * from the JDK): a class not loaded yet gets the patched bytes when it loads (a transformer that
   * only hands them over); a class loaded already is redefined ({@link Instrumentation#redefineClasses}).
   * Only the second costs the program: its compiled code that depends on the class is recompiled,
   * and before JDK 23 the first redefinition by an agent loaded at run time discards all of the
   * JVM's compiled code (HotSpot had not recorded the dependencies; JDK-8324241). Returns how many
   * classes were redefined.
   */
  private static int patchJsse(Instrumentation inst) throws Exception {
    ClassFileLocator ours = ClassFileLocator.ForClassLoader.of(Installer.class.getClassLoader());
    ClassFileLocator jdk = ClassFileLocator.ForClassLoader.ofBootLoader();
    TypePool pool = TypePool.Default.of(new ClassFileLocator.Compound(ours, jdk));
    Advice built = Advice.to(pool.describe(JSSE + "TlscapAdvice$SecretDerivationBuilt").resolve(), ours);
    Advice derived = Advice.to(pool.describe(JSSE + "TlscapAdvice$SecretDerived").resolve(), ours);
    Advice master = Advice.to(pool.describe(JSSE + "TlscapAdvice$MasterSecretUsed").resolve(), ours);
    ByteBuddy byteBuddy = new ByteBuddy().with(TypeValidation.DISABLED);
    String secrets = JSSE + "SSLSecretDerivation";
    String legacy = JSSE + "SSLTrafficKeyDerivation$LegacyTrafficKeyDerivation";
    Map<String, byte[]> patched = new ConcurrentHashMap<>();
    patched.put(secrets.replace('.', '/'), byteBuddy.redefine(pool.describe(secrets).resolve(), jdk)
        .visit(built.on(isConstructor().and(takesArguments(2))))
        .visit(derived.on(named("deriveKey").and(takesArgument(0, String.class))))
        .make().getBytes());
    patched.put(legacy.replace('.', '/'), byteBuddy.redefine(pool.describe(legacy).resolve(), jdk)
        .visit(master.on(isConstructor().and(takesArguments(2))))
        .make().getBytes());
    Set<String> loadedPatched = ConcurrentHashMap.newKeySet();
    inst.addTransformer(new ClassFileTransformer() {
      @Override
      public byte[] transform(ClassLoader loader, String name, Class<?> redefined, ProtectionDomain domain,
          byte[] classFile) {
        byte[] bytes = loader == null && redefined == null && name != null ? patched.get(name) : null;
        if (bytes != null) {
          loadedPatched.add(name);
        }
        return bytes;
      }
    });
    List<ClassDefinition> inUse = new ArrayList<>();
    for (Class<?> loaded : inst.getAllLoadedClasses()) {
      String name = loaded.getName().replace('.', '/');
      if (loaded.getClassLoader() == null && patched.containsKey(name) && !loadedPatched.contains(name)) {
        inUse.add(new ClassDefinition(loaded, patched.get(name)));
      }
    }
    if (!inUse.isEmpty()) {
      inst.redefineClasses(inUse.toArray(new ClassDefinition[0]));
    }
    return inUse.size();
  }

  /** {@code a=b,c=d}; {@code hello} is last and may hold commas. */
  static Map<String, String> options(String args) {
    Map<String, String> out = new LinkedHashMap<>();
    int at = 0;
    while (args != null && at < args.length()) {
      int eq = args.indexOf('=', at);
      if (eq < 0) {
        break;
      }
      String key = args.substring(at, eq);
      int comma = key.equals("hello") ? -1 : args.indexOf(',', eq);
      int end = comma < 0 ? args.length() : comma;
      out.put(key, args.substring(eq + 1, end));
      at = end + 1;
    }
    return out;
  }
}
