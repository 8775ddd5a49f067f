<#
.SYNOPSIS
  Deploys picam-mqtt to the Raspberry Pis listed in a hosts file, from Windows, with only the OpenSSH client
  (ssh, scp) that ships with Windows 10 and 11. Runs in Windows PowerShell 5.1 and PowerShell 7.

.DESCRIPTION
  For each Pi in the hosts file (deploy\hosts.example.txt explains the format), in order:
    1. logs in with ssh and asks the Pi's CPU (uname -m), which picks the release (arm64 or armhf);
    2. copies that release tarball (and, for a camera whose broker is another Pi, its broker password) to
       ~/picam-deploy on the Pi with scp;
    3. unpacks it there and runs its install.sh with sudo and the flags from the hosts file;
    4. shows the result (systemctl is-active picam-agent);
    5. on a Pi that runs the broker, fetches the generated passwords into deploy\credentials\.
  Every step on the Pi is install.sh's (the same Ansible roles as `npm run deploy` from Linux, applied locally);
  this script only carries files and commands over ssh. A Pi that fails is reported and the next one is tried.
  Exit code: 0 every Pi deployed, 1 at least one failed, 2 wrong usage (no such hosts file, a bad line).

.PARAMETER HostsFile
  The list of Pis, e.g. deploy\hosts.txt (start from deploy\hosts.example.txt).

.PARAMETER ReleaseDir
  Folder holding picam-mqtt-linux-<arch>.tar.gz (or picam-mqtt-<version>-linux-<arch>.tar.gz). Default: release\
  beside the deploy folder.

.PARAMETER CredentialsDir
  Where the broker passwords are kept on this machine. Default: deploy\credentials.

.PARAMETER AllowPassword
  Let ssh and scp ask for the Pi user's password (each connection asks again). Without it only keys are used,
  so a missing key is reported at once instead of waiting at a prompt.

.PARAMETER ConnectTimeout
  Seconds to wait for a Pi to answer. Default: 10.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File deploy\deploy.ps1 -HostsFile deploy\hosts.txt
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string]$HostsFile,
  [string]$ReleaseDir = (Join-Path (Split-Path -Parent $PSScriptRoot) 'release'),
  [string]$CredentialsDir = (Join-Path $PSScriptRoot 'credentials'),
  [switch]$AllowPassword,
  [ValidateRange(1, 300)][int]$ConnectTimeout = 10
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# install.sh's default --credentials-dir: where the Pi keeps the passwords it generated, root-only.
$PiCredentialsDir = '/var/lib/picam/credentials'
# Folder in the Pi user's home that receives the release; emptied of old unpacked copies on each run.
$PiWorkDir = 'picam-deploy'
# `uname -m` to the release's architecture name (as picam_release_arch_by_machine in deploy/group_vars/all.yml).
$ArchByMachine = @{ 'aarch64' = 'arm64'; 'armv7l' = 'armhf'; 'x86_64' = 'x64' }
# A camera's broker account (picam_camera_username_prefix in deploy/group_vars/all.yml).
$CameraAccountPrefix = 'cam-'

function Stop-Usage([string]$Message) {
  [Console]::Error.WriteLine("deploy.ps1: $Message")
  exit 2
}

function Get-SshOptions {
  # accept-new: a Pi met for the first time is trusted and remembered, a changed key is refused. LogLevel=ERROR
  # keeps ssh's notices (such as "Permanently added") out of the output read here; errors still show.
  $options = @('-o', "ConnectTimeout=$ConnectTimeout", '-o', 'StrictHostKeyChecking=accept-new', '-o', 'LogLevel=ERROR')
  if (-not $AllowPassword) { $options += @('-o', 'BatchMode=yes') }
  return $options
}

# ssh's own failures (exit code 255) in words a user can act on.
function Get-SshProblem([string]$Target, [string]$Text) {
  $user = 'your user name'
  if ($Target.Contains('@')) { $user = ($Target -split '@')[0] }
  if ($Text -match 'Permission denied|Too many authentication failures') {
    if ($AllowPassword) { return "wrong password or key: the Pi refused the login as $user" }
    return "wrong key or no key: the Pi refused the login as $user (put your key on it, see deploy\README.md, or run with -AllowPassword)"
  }
  if ($Text -match 'Could not resolve hostname') { return 'cannot be reached: its name is unknown (check the spelling, or use its IP address)' }
  if ($Text -match 'timed out|No route to host|Network is unreachable|Connection refused|Connection reset|Connection closed') {
    return "cannot be reached (ssh: $(($Text.Trim() -split "`n")[-1].Trim())): is it on, on this network, with SSH enabled?"
  }
  if ($Text -match 'Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED') {
    return 'its host key changed since the last login: if the Pi was reinstalled, remove its line from ~\.ssh\known_hosts'
  }
  return "ssh failed: $(($Text.Trim() -split "`n")[-1].Trim())"
}

# Runs a command on the Pi and returns its output lines; throws with a clear message when ssh cannot log in.
function Invoke-PiCapture([string]$Target, [string]$Command) {
  $ErrorActionPreference = 'Continue'   # a native program's stderr must not stop Windows PowerShell 5.1
  $lines = @(& ssh @(Get-SshOptions) $Target $Command 2>&1 | ForEach-Object { "$_" })
  $code = $LASTEXITCODE
  if ($code -eq 255) { throw ((Get-SshProblem $Target ($lines -join "`n"))) }
  return [pscustomobject]@{ Code = $code; Lines = $lines }
}

# Single-quotes a word for the Pi's shell; the hosts file's values never hold a quote (checked when read).
function ConvertTo-ShellWord([string]$Word) { return "'" + $Word + "'" }

# One hosts file line: the ssh target and install.sh's flags, as they are written.
function Read-HostsFile([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
    Stop-Usage "hosts file $Path does not exist: copy deploy\hosts.example.txt to deploy\hosts.txt and list your Pis"
  }
  $pis = @()
  $number = 0
  foreach ($line in Get-Content -LiteralPath $Path) {
    $number++
    $text = $line.Trim()
    if ($text -eq '' -or $text.StartsWith('#')) { continue }
    $words = @($text -split '\s+')
    foreach ($word in $words) {
      if ($word -match '[''"`\\;&|<>$]') { Stop-Usage "$($Path):$($number): '$word' holds a character a setting cannot have (quotes, \ ; & | < > `$)" }
    }
    if ($words[0].StartsWith('-')) { Stop-Usage "$($Path):$($number): a line starts with the Pi ([user@]host), then its flags" }
    $flags = @($words | Select-Object -Skip 1)
    $pis += [pscustomobject]@{
      Line = $number
      Target = $words[0]
      Flags = $flags
      CameraId = Get-FlagValue $flags '--camera-id'
      BrokerHost = Get-FlagValue $flags '--broker-host'
    }
  }
  if ($pis.Count -eq 0) { Stop-Usage "$Path lists no Pi: one line per Pi, [user@]host followed by install.sh's flags" }
  return $pis
}

# The value of --name VALUE or --name=VALUE among the flags, else $null.
function Get-FlagValue([string[]]$Flags, [string]$Name) {
  for ($i = 0; $i -lt $Flags.Count; $i++) {
    if ($Flags[$i] -eq $Name -and $i + 1 -lt $Flags.Count) { return $Flags[$i + 1] }
    if ($Flags[$i].StartsWith("$Name=")) { return $Flags[$i].Substring($Name.Length + 1) }
  }
  return $null
}

function Find-Release([string]$Arch) {
  $stable = Join-Path $ReleaseDir "picam-mqtt-linux-$Arch.tar.gz"
  if (Test-Path -LiteralPath $stable -PathType Leaf) { return (Get-Item -LiteralPath $stable) }
  $found = @(Get-ChildItem -Path $ReleaseDir -Filter "picam-mqtt-*-linux-$Arch.tar.gz" -File -ErrorAction SilentlyContinue |
      Sort-Object LastWriteTime -Descending)
  if ($found.Count -gt 0) { return $found[0] }
  throw ("no release for $Arch in $($ReleaseDir): put picam-mqtt-<version>-linux-$Arch.tar.gz there (built on Linux with npm run release -- --arch $Arch)")
}

# The command run on the Pi: unpack the copied release beside it, run its install.sh with the hosts file's flags
# (plus where the tarball and the camera's broker password are), then remove the copied password.
function Get-InstallCommand([string]$Tarball, [string[]]$Flags, [string]$PasswordFile) {
  $installArgs = @('--release', "$PiWorkDir/$Tarball") + $Flags
  if ($PasswordFile) { $installArgs += @('--password-file', "$PiWorkDir/$PasswordFile") }
  $quoted = ($installArgs | ForEach-Object { ConvertTo-ShellWord $_ }) -join ' '
  $sudo = 'sudo -n'
  $script = @(
    "rm -rf $PiWorkDir/release",
    "mkdir $PiWorkDir/release",
    "tar -xzf $PiWorkDir/$(ConvertTo-ShellWord $Tarball) -C $PiWorkDir/release",
    "code=0",
    "$sudo $PiWorkDir/release/install.sh $quoted || code=`$?",
    "rm -f $PiWorkDir/*.password",
    "exit `$code"
  )
  return ($script -join '; ')
}

function Save-Credentials([string]$Target) {
  $result = Invoke-PiCapture $Target "sudo -n grep -r . $PiCredentialsDir"
  if ($result.Code -ne 0) { throw ("could not read the passwords in $PiCredentialsDir (sudo -n grep exited $($result.Code)): $($result.Lines -join ' ')") }
  New-Item -ItemType Directory -Force -Path $CredentialsDir | Out-Null
  $names = @()
  foreach ($line in $result.Lines) {
    # grep -r prints <file>:<password>
    if ($line -notmatch '^.*/([A-Za-z0-9_.-]+):(.+)$') { continue }
    # One LF, no BOM: the same bytes as the Linux deploy's files, readable by $(cat ...) and Get-Content alike.
    [System.IO.File]::WriteAllText((Join-Path $CredentialsDir $Matches[1]), $Matches[2] + "`n", [System.Text.Encoding]::ASCII)
    $names += $Matches[1]
  }
  return $names
}

function Deploy-Pi($Pi) {
  $target = $Pi.Target
  Write-Host "== $target (line $($Pi.Line))"
  $probe = Invoke-PiCapture $target ('echo picam-machine=$(uname -m) && mkdir -p ' + $PiWorkDir + ' && chmod 700 ' + $PiWorkDir)
  $machineLine = @($probe.Lines | Where-Object { $_ -match '^picam-machine=' })
  if ($probe.Code -ne 0 -or $machineLine.Count -eq 0) { throw ("could not prepare ~/$PiWorkDir on the Pi: $($probe.Lines -join ' ')") }
  $machine = $machineLine[0].Substring('picam-machine='.Length).Trim()
  if (-not $ArchByMachine.ContainsKey($machine)) {
    throw ("its CPU is $machine; releases exist for $($ArchByMachine.Keys -join ', ') (ARMv6 Pis, Zero and 1, are not supported)")
  }
  $release = Find-Release $ArchByMachine[$machine]

  $copy = @($release.FullName)
  $passwordFile = $null
  $staged = $null
  if ($Pi.BrokerHost) {
    if (-not $Pi.CameraId) { throw ("a camera with --broker-host needs --camera-id on its line (its broker account is $CameraAccountPrefix<id>)") }
    $account = "$CameraAccountPrefix$($Pi.CameraId)"
    $local = Join-Path $CredentialsDir $account
    if (-not (Test-Path -LiteralPath $local -PathType Leaf)) {
      throw ("no $($local): list the broker Pi above this one with --camera-accounts $($Pi.CameraId), so its password is fetched first")
    }
    $passwordFile = "$account.password"
    $staged = Join-Path ([System.IO.Path]::GetTempPath()) $passwordFile
    Copy-Item -LiteralPath $local -Destination $staged -Force
    $copy += $staged
  }

  Write-Host "   copying $($release.Name)"
  $ErrorActionPreference = 'Continue'
  & scp -q @(Get-SshOptions) @copy "$($target):$PiWorkDir/"
  $scpCode = $LASTEXITCODE
  $ErrorActionPreference = 'Stop'
  if ($staged) { Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue }
  if ($scpCode -ne 0) { throw ("copying the release failed (scp exit $scpCode; its message is above)") }

  Write-Host "   running install.sh $($Pi.Flags -join ' ')"
  $ErrorActionPreference = 'Continue'
  & ssh @(Get-SshOptions) $target (Get-InstallCommand $release.Name $Pi.Flags $passwordFile)
  $installCode = $LASTEXITCODE
  $ErrorActionPreference = 'Stop'
  switch ($installCode) {
    0 { }
    2 { throw ("install.sh refused line $($Pi.Line)'s settings (its one-line message is above)") }
    255 { throw ('the connection to the Pi broke during the install; run deploy.ps1 again (it changes only what is left)') }
    default { throw ("the install failed on the Pi (exit $installCode): the failed step and its message are above; fix that and run deploy.ps1 again") }
  }

  $state = 'no camera'
  if (-not ($Pi.Flags -contains '--no-camera')) {
    $state = "$(@((Invoke-PiCapture $target 'systemctl is-active picam-agent').Lines)[-1])".Trim()
  }
  $fetched = @()
  if (-not $Pi.BrokerHost) { $fetched = @(Save-Credentials $target) }
  Write-Host "   picam-agent: $state"
  if ($fetched.Count -gt 0) { Write-Host "   broker passwords in $($CredentialsDir): $($fetched -join ', ')" }
  if ($state -ne 'active' -and $state -ne 'no camera') {
    throw ("installed, but picam-agent is $($state): see journalctl -u picam-agent on the Pi")
  }
}

if (-not (Get-Command ssh -ErrorAction SilentlyContinue) -or -not (Get-Command scp -ErrorAction SilentlyContinue)) {
  Stop-Usage 'the OpenSSH client (ssh, scp) is not installed: Settings > Apps > Optional features > OpenSSH Client'
}
$CredentialsDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($CredentialsDir)
$ReleaseDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($ReleaseDir)
$pis = @(Read-HostsFile $HostsFile)
$failed = @()
foreach ($pi in $pis) {
  try {
    Deploy-Pi $pi
  } catch {
    [Console]::Error.WriteLine("deploy.ps1: $($pi.Target): $($_.Exception.Message)")
    $failed += $pi.Target
  }
}
if ($failed.Count -gt 0) {
  [Console]::Error.WriteLine("deploy.ps1: $($failed.Count) of $($pis.Count) Pis failed: $($failed -join ', ')")
  exit 1
}
Write-Host "deploy.ps1: $($pis.Count) Pis deployed"
exit 0
