package dev.ebb.api.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AddressesTest {

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"127.0.0.1", "0.0.0.0", "255.255.255.255", "10.1.2.3", "192.168.100.200"})
  void ipv4Literals(String s) {
    assertThat(Addresses.isIpv4(s)).isTrue();
    assertThat(Addresses.isIpv6(s)).isFalse();
    assertThat(Addresses.isIpLiteral(s)).isTrue();
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", " 1.2.3.4", "1.2.3.4 ",
      "1.2.3.-1", "1..2.3", "localhost", "example.com", "1.2.3.4:80"})
  void notIpv4(String s) {
    assertThat(Addresses.isIpv4(s)).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"::1", "::", "1::", "2001:db8::1", "fe80::1:2", "1:2:3:4:5:6:7:8", "2001:DB8::A",
      "::ffff:192.168.1.1", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
      "2001:0db8:0000:0000:0000:ff00:0042:8329"})
  void ipv6Literals(String s) {
    assertThat(Addresses.isIpv6(s)).isTrue();
    assertThat(Addresses.isIpv4(s)).isFalse();
    assertThat(Addresses.isIpLiteral(s)).isTrue();
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"[::1]", "1:2:3:4:5:6:7:8:9", "1::2::3", ":::", "1:::2", "12345::1", "g::1",
      "1:2:3:4:5:6:7", ":1", "1:", "::1:", "::1.2.3", "fe80::1%eth0", "1:2:3:4:5:6:7:1.2.3.4",
      "::ffff:256.1.1.1", "1.2.3.4::", "1:2:3:4:5:6:7:8::", "", "::1 ", "[::1]:9001"})
  void notIpv6(String s) {
    assertThat(Addresses.isIpv6(s)).isFalse();
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {"localhost", "chat.example.com", "", "*", "[::1]", "127.0.0.1:80"})
  void namesAreNotIpLiterals(String s) {
    assertThat(Addresses.isIpLiteral(s)).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"*", "*.example.com", "chat.example.com", "a", "localhost", "a-b.c", "xn--bcher-kva.example",
      "123.example.com", "10.0.0.1"})
  void validHosts(String host) {
    assertThat(Addresses.hostProblem(host)).isEmpty();
  }

  @ParameterizedTest(name = "\"{0}\": {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      Chat.Example.com     | must be lowercase
      *.Example.com        | must be lowercase
      chat.example.com:443 | must not contain a port
      *:80                 | must not contain a port
      [::1]                | must not contain a port
      ``                   | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      chat example.com     | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      -chat.example.com    | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      chat-.example.com    | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      chat..example.com    | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      example.com.         | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      *.*.example.com      | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      *example.com         | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      chat.*.com           | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      chat_x.example.com   | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      *.                   | is not a host name (letters, digits, '-' and '.', optionally starting with "*.", or "*")
      """)
  void invalidHosts(String host, String problem) {
    assertThat(Addresses.hostProblem(host)).isEqualTo(problem);
  }

  @Test
  void labelsUpTo63AndNamesUpTo253Characters() {
    String label63 = "a".repeat(63);
    assertThat(Addresses.hostProblem(label63 + ".example.com")).isEmpty();
    assertThat(Addresses.hostProblem("a" + label63 + ".example.com")).startsWith("is not a host name");

    String name253 = String.join(".", label63, label63, label63, "a".repeat(61));
    assertThat(name253).hasSize(253);
    assertThat(Addresses.hostProblem(name253)).isEmpty();
    assertThat(Addresses.hostProblem("*." + name253)).isEmpty();
    assertThat(Addresses.hostProblem("b" + name253)).startsWith("is not a host name");
  }
}
