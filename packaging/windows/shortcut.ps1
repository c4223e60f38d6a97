<#
Start-menu and desktop shortcuts for ZIT Desktop: run.bat --install-shortcut / --remove-shortcut.

    powershell -NoProfile -ExecutionPolicy Bypass -File packaging\windows\shortcut.ps1 -Action install -Root C:\path\to\checkout

Each shortcut ("ZIT Desktop.lnk") starts .venv\Scripts\pythonw.exe -P -m zit_desktop gui (no console
window) in the checkout, with zit_desktop\resources\icons\zit-desktop.ico. It also carries the
AppUserModelID (System.AppUserModel.ID, zit_desktop.APP_USER_MODEL_ID), the id the app gives its own
process, so Windows groups the running window with the pinned or Start-menu shortcut. WScript.Shell
cannot write that property, so a few lines of C# call the shell's IPropertyStore on the .lnk. If that
step fails the shortcut still works; only the taskbar grouping is lost, and a warning says so.
#>
param(
    [Parameter(Mandatory = $true)][ValidateSet('install', 'remove')][string]$Action,
    [Parameter(Mandatory = $true)][string]$Root
)
$ErrorActionPreference = 'Stop'
$Root = (Resolve-Path -LiteralPath $Root).Path
$name = 'ZIT Desktop.lnk'
$links = @(
    (Join-Path ([Environment]::GetFolderPath('Programs')) $name),
    (Join-Path ([Environment]::GetFolderPath('Desktop')) $name)
)

if ($Action -eq 'remove') {
    foreach ($link in $links) {
        if (Test-Path -LiteralPath $link) {
            Remove-Item -LiteralPath $link
            Write-Output "[zit-desktop] removed $link"
        }
    }
    exit 0
}

$pythonw = Join-Path $Root '.venv\Scripts\pythonw.exe'
$python = Join-Path $Root '.venv\Scripts\python.exe'
$icon = Join-Path $Root 'zit_desktop\resources\icons\zit-desktop.ico'
if (-not (Test-Path -LiteralPath $pythonw)) {
    throw "$pythonw is missing: run run.bat once to set up ZIT Desktop, then try again."
}
$appId = (& $python -P -c 'import zit_desktop; print(zit_desktop.APP_USER_MODEL_ID)' | Out-String).Trim()
if ($LASTEXITCODE -ne 0 -or -not $appId) {
    throw "could not read the app id from the installed ZIT Desktop: run run.bat once to repair the set-up."
}

Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;

public static class ZitShortcut
{
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct PropertyKey { public Guid fmtid; public uint pid; }

    // PROPVARIANT: a 2-byte type, 6 reserved bytes, then a 16-byte (x64) or 8-byte (x86) union.
    [StructLayout(LayoutKind.Sequential)]
    public struct PropVariant { public ushort vt; public ushort r1; public ushort r2; public ushort r3; public IntPtr p; public IntPtr p2; }

    [ComImport, Guid("886D8EEB-8CF2-4446-8D02-CDBA1DBDCF99"), InterfaceType(ComInterfaceType.InterfaceIsIUnknown)]
    internal interface IPropertyStore
    {
        void GetCount(out uint count);
        void GetAt(uint index, out PropertyKey key);
        void GetValue(ref PropertyKey key, out PropVariant value);
        void SetValue(ref PropertyKey key, ref PropVariant value);
        void Commit();
    }

    [DllImport("shell32.dll", CharSet = CharSet.Unicode, PreserveSig = false)]
    static extern void SHGetPropertyStoreFromParsingName(
        string path, IntPtr bindContext, int flags, ref Guid iid,
        [MarshalAs(UnmanagedType.Interface)] out IPropertyStore store);

    public static void SetAppId(string lnk, string appId)
    {
        Guid iid = new Guid("886D8EEB-8CF2-4446-8D02-CDBA1DBDCF99");
        IPropertyStore store;
        SHGetPropertyStoreFromParsingName(lnk, IntPtr.Zero, 2 /* GPS_READWRITE */, ref iid, out store);
        try
        {
            // PKEY_AppUserModel_ID
            PropertyKey key = new PropertyKey { fmtid = new Guid("9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3"), pid = 5 };
            PropVariant value = new PropVariant { vt = 31 /* VT_LPWSTR */, p = Marshal.StringToCoTaskMemUni(appId) };
            try { store.SetValue(ref key, ref value); store.Commit(); }
            finally { Marshal.FreeCoTaskMem(value.p); }
        }
        finally { Marshal.ReleaseComObject(store); }
    }
}
'@

$shell = New-Object -ComObject WScript.Shell
foreach ($link in $links) {
    $shortcut = $shell.CreateShortcut($link)
    $shortcut.TargetPath = $pythonw
    $shortcut.Arguments = '-P -m zit_desktop gui'
    $shortcut.WorkingDirectory = $Root
    $shortcut.IconLocation = "$icon,0"
    $shortcut.Description = 'Make pictures from text with Z-Image-Turbo, on this computer'
    $shortcut.Save()
    try {
        [ZitShortcut]::SetAppId($link, $appId)
    } catch {
        Write-Warning "[zit-desktop] $link works, but its taskbar id could not be set ($($_.Exception.Message))."
    }
    Write-Output "[zit-desktop] created $link"
}
