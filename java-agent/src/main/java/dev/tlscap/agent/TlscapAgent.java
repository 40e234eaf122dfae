// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.agent;

import java.lang.instrument.Instrumentation;
import java.net.URL;
import java.net.URLClassLoader;

/**
 * tlscap's agent, loaded into a running JVM (JDK 17+) with the Attach API by {@code tlscap --java}.
 * This class is the only one the program's class loader ever loads from the agent jar: the work
 * ({@link Installer}, Byte Buddy) runs in a class loader of its own whose parent is the platform
 * loader, so the agent never meets the program's classes (or its own copy of Byte Buddy), and
 * the JSSE package it opens is opened to that loader only. The same loader serves every later
 * tlscap that attaches to this JVM.
 */
public final class TlscapAgent {
  private static ClassLoader isolated;

  private TlscapAgent() {
  }

  public static synchronized void agentmain(String args, Instrumentation inst) throws Exception {
    if (isolated == null) {
      URL jar = TlscapAgent.class.getProtectionDomain().getCodeSource().getLocation();
      isolated = new URLClassLoader("tlscap-agent", new URL[] {jar}, ClassLoader.getPlatformClassLoader());
    }
    Class.forName("dev.tlscap.agent.Installer", true, isolated)
        .getMethod("agentmain", String.class, Instrumentation.class)
        .invoke(null, args, inst);
  }
}
